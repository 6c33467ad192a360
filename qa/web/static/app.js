// News Q&A chat page. Plain DOM, no framework, no build step.
// SECURITY: article text and model output are untrusted. They only ever reach the page
// through textContent / text nodes, never innerHTML; links are limited to http(s).
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const els = {
    messages: $("#messages"), chat: $("#chat"), empty: $("#empty-state"),
    form: $("#composer"), question: $("#question"), send: $("#send"), stop: $("#stop"),
    newChat: $("#new-chat"), panel: $("#passage-panel"), backdrop: $("#panel-backdrop"),
  };

  let history = [];       // [{role, content}] of finished turns; the last few go with each question
  let historyTurns = Infinity; // how many the server reads (GET /config)
  let controller = null;  // AbortController of the running request, if any
  let conversation = 0;   // bumped by "New conversation" so a late answer can't touch new history
  let activeChip = null;

  // ---------- helpers ----------
  const { el, safeUrl } = window.qaDom;

  function formatDate(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(iso); // parsed as UTC midnight: don't shift a day
    return d.toLocaleDateString(undefined,
      { year: "numeric", month: "short", day: "numeric", timeZone: dateOnly ? "UTC" : undefined });
  }

  const metaLine = (p) => [p.source, formatDate(p.published)].filter(Boolean).join(" · ");
  const nearBottom = () => els.chat.scrollHeight - els.chat.scrollTop - els.chat.clientHeight < 120;
  const scrollToBottom = () => { els.chat.scrollTop = els.chat.scrollHeight; };

  // ---------- answer rendering ----------
  // The page never parses the model's text: it shows the sentences the server checked, each
  // with the passages that carry it; unsupported ones are dimmed, their reason on hover/focus.
  function citeChip(n, msg) {
    const b = el("button", "cite");
    b.type = "button";
    b.dataset.n = String(n);
    const p = msg.passages.find((x) => x.n === n);
    b.title = p && p.title ? String(p.title) : `Source ${n}`;
    b.setAttribute("aria-label", `Source ${n}: ${b.title}`);
    // The brackets stay in the text (copy/paste and innerText read "[1]") but are not drawn.
    b.append(el("span", "br", "["), String(n), el("span", "br", "]"));
    return b;
  }

  function sentenceEl(s, msg) {
    // unsupported: "weak" (the articles cover too little of it: dimmed) or "contradicted" (they
    // say otherwise: struck through in red); the support score is on hover
    const verdict = s.supported ? "" : s.verdict === "contradicted" ? " contradicted" : " weak";
    const span = el("span", `sent${s.supported ? "" : " unsupported"}${verdict}`, s.text.replace(/[.!?]$/, ""));
    if (typeof s.score === "number") span.dataset.score = s.score.toFixed(2);
    const end = /[.!?]$/.exec(s.text);
    if (s.supported) {
      const group = el("span", "cite-group", " ");
      for (const n of s.citations || []) group.append(citeChip(n, msg));
      group.append(end ? end[0] : "");
      span.append(group);
      // who reported it and when: each cited passage's outlet and date
      const dated = (s.sources || []).map(metaLine).filter(Boolean);
      if (dated.length) span.append(" ", el("span", "sent-meta", dated.join("; ")));
      if (typeof s.score === "number") span.title = `Support score ${s.score.toFixed(2)}`;
    } else {
      span.append(end ? end[0] : "");
      const lead = s.verdict === "contradicted" ? "Contradicted by the cited articles" : "Not supported by the cited articles";
      const score = typeof s.score === "number" ? ` (support ${s.score.toFixed(2)})` : "";
      const reason = `${lead}: ${s.reason || "no quote carries it"}${score}`;
      span.title = reason;
      span.tabIndex = 0; // the reason is reachable from the keyboard too
      span.setAttribute("aria-label", `${s.text} (${reason})`);
      span.dataset.reason = s.reason || "no quote carries it";
    }
    return span;
  }

  function renderAnswer(msg) {
    const frag = document.createDocumentFragment();
    if (msg.state !== "streaming" && msg.grounded === false && msg.text) {
      frag.append(el("p", "refusal", msg.text));
    }
    const draft = msg.state !== "done" && msg.pending ? msg.pending : "";
    if (msg.sentences.length || draft) {
      const p = el("p");
      // a latest/current question: the server dates the answer (never the model)
      if (msg.asOf && msg.state === "done") p.append(el("span", "as-of", `As of ${msg.asOf}, `));
      msg.sentences.forEach((s, i) => p.append(i ? " " : "", sentenceEl(s, msg)));
      // the sentence being written: shown as a draft until the server has checked it
      if (draft) p.append(msg.sentences.length ? " " : "", el("span", "sent pending", draft));
      frag.append(p);
      if (msg.staleness && msg.state === "done") frag.append(el("p", "stale", msg.staleness));
    } else if (msg.state !== "streaming" && msg.grounded !== false && msg.text) {
      frag.append(el("p", null, msg.text)); // an answer without checked sentences
    }
    msg.answerEl.replaceChildren(frag);
  }

  // Figures the retrieved articles disagree on, each claim with its outlet, date and passage.
  function renderConflicts(msg) {
    msg.conflictsEl.replaceChildren();
    msg.conflictsEl.hidden = !msg.conflicts.length;
    if (!msg.conflicts.length) return;
    msg.conflictsEl.append(el("h3", "sources-label", "Sources disagree"));
    const ul = msg.conflictsEl.appendChild(el("ul", "conflict-list"));
    for (const c of msg.conflicts) {
      const li = ul.appendChild(el("li", "conflict"));
      li.append(el("span", "conflict-about", `${c.about}: `));
      (c.claims || []).forEach((claim, i) => {
        const meta = [claim.source, formatDate(claim.published)].filter(Boolean).join(", ");
        li.append(i ? "; " : "", el("span", "conflict-value", claim.value), meta ? ` (${meta}) ` : " ",
          citeChip(claim.citation, msg));
      });
      if (c.stated) li.append(el("span", "conflict-missed", " — the model gave one figure; the last sentence of the answer, added by the service, gives each"));
      else if (c.reported === false) li.append(el("span", "conflict-missed", " — the answer does not give both"));
    }
  }

  function scheduleRender(msg) { // at most one re-render per frame while streaming
    if (msg.renderPending) return;
    msg.renderPending = true;
    requestAnimationFrame(() => {
      msg.renderPending = false;
      const stick = nearBottom();
      renderAnswer(msg);
      if (stick) scrollToBottom();
    });
  }

  function sourceList(passages) {
    const ol = el("ol", "source-list");
    for (const p of passages) {
      const b = el("button", "source");
      b.type = "button";
      b.dataset.n = String(p.n);
      b.append(el("span", "source-n", p.n), el("span", "source-title", p.title || p.doc_id || "Untitled"));
      if (metaLine(p)) b.append(el("span", "source-meta", metaLine(p)));
      ol.appendChild(el("li")).append(b);
    }
    return ol;
  }

  // The best quotes of the passages, ranked before the answer: shown at once, highlighted,
  // while the model writes (and they stay, as what the answer can be checked against).
  function renderEvidence(msg) {
    msg.evidenceEl.replaceChildren();
    msg.evidenceEl.hidden = !msg.evidence.length;
    if (!msg.evidence.length) return;
    msg.evidenceEl.append(el("h3", "evidence-label", "Evidence"));
    for (const q of msg.evidence) {
      const b = el("button", "evidence-quote");
      b.type = "button";
      b.dataset.n = String(q.n);
      b.dataset.start = String(q.start);
      b.append(el("mark", null, q.quote)); // verbatim: the box marks it as a quote
      const meta = [q.title || q.doc_id, metaLine(q)].filter(Boolean).join(" · ");
      b.append(el("span", "evidence-meta", `[${q.n}] ${meta}`));
      b.setAttribute("aria-label", `Evidence from source ${q.n}: ${q.quote}`);
      msg.evidenceEl.append(b);
    }
  }

  // Cited passages first; the other retrieved passages folded away.
  function renderSources(msg) {
    const cited = new Set(msg.citations.map((c) => c.n));
    for (const s of msg.sentences) if (s.supported) (s.citations || []).forEach((n) => cited.add(n));
    const passages = msg.passages.slice().sort((a, b) => a.n - b.n);
    const used = passages.filter((p) => cited.has(p.n));
    const other = passages.filter((p) => !cited.has(p.n));
    msg.sourcesEl.replaceChildren();
    if (used.length) msg.sourcesEl.append(el("h3", "sources-label", "Sources"), sourceList(used));
    if (other.length) {
      const d = el("details", "more-sources");
      const label = `${used.length ? "Also retrieved" : "Retrieved passages"} (${other.length})`;
      d.append(el("summary", null, label), sourceList(other));
      msg.sourcesEl.append(d);
    }
  }

  // ---------- messages ----------
  function addUserMessage(text) {
    els.empty.hidden = true;
    els.messages.appendChild(el("div", "msg user")).append(el("div", "bubble", text));
  }

  function addAssistantMessage(question) {
    const root = el("div", "msg assistant");
    const msg = {
      root, question, text: "", citations: [], passages: [], sentences: [], pending: "", grounded: null,
      evidence: [], conflicts: [], asOf: null, staleness: null, conflictsEl: el("div", "conflicts"),
      searchedEl: el("p", "searched"), statusEl: el("p", "status", "Searching the news"),
      evidenceEl: el("div", "evidence"), answerEl: el("div", "answer"), noteEl: el("p", "note"),
      sourcesEl: el("div", "sources"),
    };
    msg.searchedEl.hidden = msg.noteEl.hidden = msg.evidenceEl.hidden = msg.conflictsEl.hidden = true;
    root.append(
      msg.searchedEl, msg.statusEl, msg.evidenceEl, msg.answerEl, msg.conflictsEl, msg.noteEl, msg.sourcesEl,
    );
    root.addEventListener("click", (e) => {
      const t = e.target.closest(".cite, .source, .evidence-quote");
      if (!t) return;
      const start = t.dataset.start ? Number(t.dataset.start) : null;
      const quote = start == null ? [] : msg.evidence.filter((q) => q.start === start);
      openPanel(msg, Number(t.dataset.n), t, quote);
    });
    setState(msg, "streaming");
    els.messages.append(root);
    return msg;
  }

  function setState(msg, state) {
    msg.state = state;
    msg.root.dataset.state = state;
    msg.root.setAttribute("aria-busy", String(state === "streaming"));
    if (state !== "streaming") msg.statusEl.hidden = true;
  }

  function showNote(msg, text, cls) {
    Object.assign(msg.noteEl, { textContent: text, className: "note " + cls, hidden: false });
  }

  function showError(msg, text) {
    const box = el("div", "error", text);
    box.setAttribute("role", "alert");
    msg.answerEl.after(box);
    msg.root.classList.add("error");
    setState(msg, "error");
    renderAnswer(msg);
    renderSources(msg);
  }

  function friendlyError(err, status) {
    const type = String(err.type || "");
    let what = "Something went wrong"; // backend kinds: llm_error, llm_timeout, store_unavailable, ...
    if (/llm|model/i.test(type) && /timeout/i.test(type)) what = "The language model did not answer in time";
    else if (/llm|model|upstream/i.test(type)) what = "The language model is unavailable";
    else if (/timeout/i.test(type)) what = "The request timed out";
    else if (/index|retriev|search|store|embed/i.test(type)) what = "The news index is unavailable";
    else if (status === 429 || /rate|busy|overload/i.test(type)) what = "The service is busy";
    else if (status === 400 || status === 422 || /valid|request/i.test(type)) what = "The question could not be processed";
    const code = status || err.status || err.code;
    return `${what}${code ? ` (${code})` : ""}: ${err.message || "unknown error"}`;
  }

  // ---------- Server-Sent Events over fetch (EventSource cannot POST) ----------
  async function* sseEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    function* frames(final) {
      const heldCR = !final && buf.endsWith("\r"); // a CRLF may be split across chunks
      let text = (heldCR ? buf.slice(0, -1) : buf).replace(/\r\n?/g, "\n");
      let idx;
      while ((idx = text.indexOf("\n\n")) !== -1) {
        let event = "message";
        const data = [];
        for (const line of text.slice(0, idx).split("\n")) {
          const [, field, value = ""] = /^([^:]*)(?::\s?(.*))?$/.exec(line);
          if (field === "event") event = value;
          else if (field === "data") data.push(value); // lines starting with ":" are comments
        }
        text = text.slice(idx + 2);
        if (data.length) yield { event, data: data.join("\n") };
      }
      buf = text + (heldCR ? "\r" : "");
    }
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        yield* frames(false);
      }
      buf += decoder.decode() + "\n\n"; // a last frame without its blank line
      yield* frames(true);
    } finally {
      reader.cancel().catch(() => {}); // release the connection if we stopped early
    }
  }

  // Apply one event to the message; returns true when it ends the answer.
  function handleEvent(msg, name, data, status) {
    const stick = nearBottom();
    let final = false;
    if (name === "sources") {
      msg.passages = data.passages || [];
      const cq = String(data.condensed_question || "").trim();
      if (cq && cq.toLowerCase() !== msg.question.trim().toLowerCase()) {
        Object.assign(msg.searchedEl, { textContent: "Searched: " + cq, hidden: false,
          title: "Your question was rewritten into this standalone search" });
      }
      const k = msg.passages.length;
      msg.statusEl.textContent = k ? `Reading ${k} passage${k === 1 ? "" : "s"}` : "No matching articles found";
      renderSources(msg);
    } else if (name === "evidence") {
      msg.evidence = data.quotes || [];
      renderEvidence(msg);
    } else if (name === "delta") {
      msg.statusEl.hidden = true;
      msg.pending = String(data.pending || "");
      scheduleRender(msg);
    } else if (name === "sentence") {
      msg.sentences.push(data);
      scheduleRender(msg);
    } else if (name === "done") {
      msg.text = String(data.answer || "");
      msg.citations = data.citations || [];
      msg.sentences = data.sentences || [];
      msg.grounded = data.grounded;
      if (data.passages) msg.passages = data.passages;
      if (data.evidence) { msg.evidence = data.evidence; renderEvidence(msg); }
      msg.conflicts = data.conflicts || [];
      msg.asOf = data.as_of || null;
      msg.staleness = data.staleness || null;
      setState(msg, "done");
      renderAnswer(msg);
      renderConflicts(msg);
      renderSources(msg);
      const dropped = msg.sentences.filter((s) => s.supported === false).length;
      if (data.mode === "extractive") {
        showNote(msg, "Quoted from the articles: no language model wrote this answer.", "info");
      } else if (data.grounded === false) {
        msg.root.classList.add("ungrounded");
        if (dropped) showNote(msg, "The model's draft, shown dimmed, is not supported by the retrieved articles.", "warn");
      } else if (dropped) {
        // the server leaves out sentences its sources do not support: show them, dimmed
        showNote(msg, `${dropped} dimmed sentence${dropped > 1 ? "s" : ""}: not supported by the cited articles (hover or focus for why).`, "warn");
      }
      final = true;
    } else if (name === "error") {
      if (data.passages) msg.passages = data.passages;
      if (data.fallback && data.sentences) { // the LLM failed: the server quotes instead
        msg.text = String(data.answer || "");
        msg.citations = data.citations || [];
        msg.sentences = data.sentences;
        msg.pending = "";
        if (data.evidence) { msg.evidence = data.evidence; renderEvidence(msg); }
        showNote(msg, "The best quotes from the articles, shown instead of an answer.", "info");
      }
      const err = data.error && typeof data.error === "object" ? data.error : { message: data.error };
      showError(msg, friendlyError(err, status || data.status));
      final = true;
    }
    if (stick) scrollToBottom();
    return final;
  }

  async function request(msg, body, signal) {
    const res = await fetch("/ask", {
      method: "POST", body, signal,
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    });
    const type = res.headers.get("content-type") || "";
    if (!res.ok) {
      const data = type.includes("json") ? await res.json().catch(() => null) : null;
      const error = (data && data.error) || res.statusText || "request failed";
      return handleEvent(msg, "error", { ...(data || {}), error }, res.status);
    }
    if (type.includes("application/json")) return handleEvent(msg, "done", await res.json()); // no SSE
    for await (const ev of sseEvents(res)) {
      let data;
      try { data = JSON.parse(ev.data); } catch { continue; }
      if (handleEvent(msg, ev.event, data)) return;
    }
    handleEvent(msg, "error", { error: "the connection closed before the answer was finished" });
  }

  async function ask(question) {
    const msg = addAssistantMessage(question);
    const body = JSON.stringify({ question, history: history.slice(-historyTurns), stream: true });
    const conv = conversation;
    controller = new AbortController();
    setRunning(true);
    scrollToBottom();
    try {
      await request(msg, body, controller.signal);
    } catch (e) {
      const stick = nearBottom();
      if (e && e.name === "AbortError") {
        setState(msg, "stopped");
        renderAnswer(msg);
        renderSources(msg);
        showNote(msg, msg.sentences.length || msg.pending ? "Stopped — the answer above is incomplete." : "Stopped before an answer was written.", "stopped");
      } else if (msg.state === "streaming") {
        showError(msg, msg.passages.length || msg.text
          ? "The connection to the service was lost. Please try again."
          : "Cannot reach the service. Check that it is running and try again.");
      }
      if (stick) scrollToBottom();
    } finally {
      controller = null;
      setRunning(false);
    }
    // A stopped answer with text is kept as context: the user may follow up on it.
    const said = msg.state === "done" ? msg.text
      : msg.sentences.filter((s) => s.supported).map((s) => s.text).join(" ");
    if (conv === conversation && (msg.state === "done" || (msg.state === "stopped" && said.trim()))) {
      history.push({ role: "user", content: question }, { role: "assistant", content: said });
    }
  }

  // ---------- passage panel ----------
  // Where each citation's quote lies inside the passage text, as sorted [start, end) pairs.
  function quoteSpans(p, cites) {
    const text = String(p.text || "");
    const spans = [];
    for (const c of cites) {
      let s = c.start - p.start, e = c.end - p.start;
      if (!(s >= 0 && s < e && e <= text.length) || (c.quote && text.slice(s, e) !== c.quote)) {
        s = c.quote ? text.indexOf(c.quote) : -1; // offsets disagree with the quote: search instead
        e = s + (c.quote || "").length;
      }
      if (s >= 0) spans.push([s, e]);
    }
    return spans.sort((a, b) => a[0] - b[0]);
  }

  // Other outlets' near-identical copies of the same wire story: "Also reported by: A (date), B".
  function alsoReported(copies) {
    copies = Array.isArray(copies) ? copies.filter((c) => c && typeof c === "object") : [];
    if (!copies.length) return null;
    const line = el("p", "also-reported", "Also reported by: ");
    copies.forEach((c, i) => {
      if (i) line.append(", ");
      const date = c.published ? String(c.published).slice(0, 10) : "";
      const label = `${c.source || c.title || c.doc_id || "another outlet"}${date ? ` (${date})` : ""}`;
      const url = safeUrl(c.url);
      if (url) {
        const a = el("a", null, label);
        Object.assign(a, { href: url, target: "_blank", rel: "noopener noreferrer" });
        if (c.title) a.title = String(c.title);
        line.append(a);
      } else line.append(label);
    });
    return line;
  }

  function openPanel(msg, n, trigger, marked = []) {
    const p = msg.passages.find((x) => x.n === n);
    // from an evidence quote: that quote is marked; from a citation: the answer's quotes
    const cites = marked.length ? marked : msg.citations.filter((c) => c.n === n);
    const info = p || cites[0];
    if (!info) return;
    const panel = els.panel;
    $(".panel-n", panel).textContent = `[${n}]`;
    $(".panel-title", panel).textContent = info.title || info.doc_id || "Untitled";
    $(".panel-meta", panel).textContent = metaLine(info);
    $(".also-reported", panel)?.remove();
    const also = alsoReported(p && p.also_reported_by);
    if (also) $(".panel-meta", panel).after(also);
    const link = $(".panel-link", panel), url = safeUrl(info.url);
    if (url) link.href = url; else link.removeAttribute("href");
    link.hidden = !url;

    const textEl = $(".passage-text", panel);
    textEl.replaceChildren();
    const spans = p ? quoteSpans(p, cites) : [];
    if (p) {
      const text = String(p.text || "");
      let pos = 0;
      if (p.start > 0) textEl.append("… ");
      for (const [s, e] of spans) {
        if (e <= pos) continue; // overlaps a span already marked
        textEl.append(text.slice(pos, Math.max(s, pos)), el("mark", null, text.slice(Math.max(s, pos), e)));
        pos = e;
      }
      textEl.append(text.slice(pos));
    }
    const quoteEl = $(".panel-quote", panel); // only when the quote could not be placed
    const quotes = spans.length ? [] : cites.filter((c) => c.quote).map((c) => `“${c.quote}”`);
    quoteEl.textContent = quotes.length ? "Quoted: " + quotes.join("\n") : "";
    quoteEl.hidden = !quotes.length;

    if (activeChip) activeChip.classList.remove("active");
    activeChip = trigger;
    activeChip.classList.add("active");
    panel.hidden = els.backdrop.hidden = false;
    document.body.classList.add("panel-open");
    panel.scrollTop = 0;
    const mark = $("mark", textEl);
    if (mark) mark.scrollIntoView({ block: "center" });
    panel.focus({ preventScroll: true });
  }

  function closePanel() {
    els.panel.hidden = els.backdrop.hidden = true;
    document.body.classList.remove("panel-open");
    if (!activeChip) return;
    activeChip.classList.remove("active");
    if (activeChip.isConnected) activeChip.focus({ preventScroll: true });
    activeChip = null;
  }

  // ---------- composer ----------
  const setRunning = (running) => { els.send.disabled = running; els.stop.hidden = !running; };
  function autosize() {
    const q = els.question;
    q.style.height = "auto";
    q.style.height = Math.min(q.scrollHeight, 200) + "px";
  }

  function submit() {
    const question = els.question.value.trim();
    if (!question || controller) return;
    els.question.value = "";
    autosize();
    addUserMessage(question);
    ask(question);
  }

  els.form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  els.question.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  els.question.addEventListener("input", autosize);
  els.stop.addEventListener("click", () => { if (controller) controller.abort(); });
  els.newChat.addEventListener("click", () => {
    if (controller) controller.abort();
    history = [];
    conversation += 1;
    closePanel();
    els.messages.replaceChildren(els.empty);
    els.empty.hidden = false;
    els.question.focus();
  });
  $("#panel-close").addEventListener("click", closePanel);
  els.backdrop.addEventListener("click", closePanel);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !els.panel.hidden) closePanel(); });
  els.question.focus();
  // The server's limits: the input takes no more than it accepts, history no more than it reads.
  fetch("/config").then((r) => (r.ok ? r.json() : null)).then((config) => {
    if (!config) return;
    els.question.maxLength = config.max_question_chars;
    historyTurns = config.history_turns;
  }).catch(() => {});
})();
