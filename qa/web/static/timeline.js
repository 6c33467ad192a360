// The chat page's Timeline: the dated reports on the current question (GET /timeline), one per
// story cluster, oldest first, each with its quote. Self-contained: it reads the page only for
// the question (the box, else the last one asked). Article text reaches the page through
// textContent only (see app.js).
"use strict";

(() => {
  const $ = (sel) => document.querySelector(sel);
  const button = $("#timeline-toggle");
  const box = $("#timeline");
  if (!button || !box) return;
  let running = null; // AbortController of the fetch in flight

  const { el, safeUrl } = window.qaDom;

  function currentQuestion() {
    const typed = $("#question").value.trim();
    if (typed) return typed;
    const asked = document.querySelectorAll(".msg.user .bubble");
    return asked.length ? asked[asked.length - 1].textContent.trim() : "";
  }

  function entryEl(e) {
    const li = el("li", "tl-entry");
    li.dataset.docId = e.doc_id;
    const head = el("div", "tl-head");
    head.append(el("time", "tl-date", String(e.published).slice(0, 10)));
    head.append(el("span", "tl-source", e.source || "unknown source"));
    const title = safeUrl(e.url) ? el("a", "tl-title", e.title) : el("span", "tl-title", e.title);
    if (title.tagName === "A") Object.assign(title, { href: safeUrl(e.url), target: "_blank", rel: "noopener noreferrer" });
    li.append(head, title, el("blockquote", "tl-quote", e.quote));
    const copies = (e.also_reported_by || [])
      .map((c) => [c.source || c.title, String(c.published || "").slice(0, 10)].filter(Boolean).join(" "))
      .filter(Boolean);
    if (copies.length) li.append(el("p", "tl-also", `Also reported by ${copies.join(", ")}`));
    return li;
  }

  function show(children, state) {
    box.replaceChildren(el("h2", "tl-heading", "Timeline"), ...children);
    box.dataset.state = state;
    box.hidden = false;
  }

  async function load(q) {
    if (running) running.abort();
    running = new AbortController();
    show([el("p", "tl-status", `Finding dated reports on “${q}”…`)], "loading");
    try {
      const res = await fetch(`/timeline?${new URLSearchParams({ q, limit: "10" })}`,
        { signal: running.signal, headers: { Accept: "application/json" } });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        const message = (body.error && body.error.message) || res.statusText;
        show([el("p", "tl-status error", `The timeline is unavailable (${res.status}): ${message}`)], "error");
        return;
      }
      const entries = body.entries || [];
      if (!entries.length) {
        show([el("p", "tl-status", "No dated reports on this question.")], "done");
        return;
      }
      const list = el("ol", "tl-list");
      list.append(...entries.map(entryEl));
      show([list], "done");
    } catch (err) {
      if (err && err.name === "AbortError") return;
      show([el("p", "tl-status error", "Cannot reach the service.")], "error");
    } finally {
      running = null;
    }
  }

  button.addEventListener("click", () => {
    if (!box.hidden) { // a toggle: the second press closes it
      if (running) running.abort();
      box.hidden = true;
      button.setAttribute("aria-expanded", "false");
      return;
    }
    const q = currentQuestion();
    button.setAttribute("aria-expanded", "true");
    if (!q) {
      show([el("p", "tl-status", "Ask or type a question first: the timeline is about it.")], "empty");
      return;
    }
    load(q);
  });
})();
