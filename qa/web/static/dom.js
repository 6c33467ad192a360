// DOM helpers shared by the chat page's scripts (app.js, timeline.js), loaded before them.
// SECURITY: untrusted text only ever goes in through textContent; links only http(s).
"use strict";

window.qaDom = Object.freeze({
  el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  },

  safeUrl(url) {
    try {
      const u = new URL(String(url), location.href);
      return url && (u.protocol === "http:" || u.protocol === "https:") ? u.href : null;
    } catch { return null; }
  },
});
