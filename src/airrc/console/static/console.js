// The console's own script: live events, countdowns to acknowledgement deadlines, times in the viewer's zone.
(function () {
  "use strict";
  const body = document.body;
  const lang = body.dataset.lang === "zh" ? "zh-Hans" : "en";
  const timeFormat = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      const when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) { el.textContent = timeFormat.format(when); }
    });
  }

  function two(n) { return String(n).padStart(2, "0"); }

  function countdowns() {
    const now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      const left = Math.round((Date.parse(el.dataset.deadline) - now) / 1000);
      const span = Math.abs(left);
      const text = Math.floor(span / 60) + ":" + two(span % 60);
      el.textContent = left >= 0 ? text + " " + body.dataset.left : body.dataset.overdue + " " + text;
      el.classList.toggle("state-overdue", left < 0);
    });
  }

  // A live refresh never replaces a form the officer is typing into; it runs when they leave it.
  let deferred = false;
  function typingInBoard() {
    const active = document.activeElement;
    return active && active.tagName === "INPUT" && active.closest("#board") && active.value !== "";
  }
  document.addEventListener("htmx:confirm", function (event) {
    const el = event.detail.elt;
    if (el && el.id === "board" && event.detail.verb === "get" && typingInBoard()) {
      event.preventDefault();
      deferred = true;
    }
  });
  document.addEventListener("focusout", function () {
    if (deferred) {
      setTimeout(function () {
        if (!typingInBoard() && deferred) { deferred = false; htmx.trigger(body, "hotline-changed"); }
      }, 0);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    localTimes(event.detail.target);
    countdowns();
  });

  function connect() {
    const url = body.dataset.events;
    if (!url || !window.EventSource) { return; }
    const source = new EventSource(url);
    const status = document.getElementById("live-status");
    source.addEventListener("ready", function () { status.dataset.connected = "1"; });
    source.addEventListener("hotline", function () { htmx.trigger(body, "hotline-changed"); });
    source.addEventListener("signed-out", function () {
      source.close();
      window.location.assign("/console/login?reason=console.session_expired");
    });
  }

  function start() {
    // 4xx answers carry a page fragment that says what was refused: show it in place.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "401", swap: false, error: true },
      { code: "4..", swap: true, error: false },
      { code: "...", swap: false, error: true },
    ];
    localTimes(document);
    countdowns();
    setInterval(countdowns, 1000);
    connect();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
