// Dockyard UI: the little the server-rendered pages need from the browser. No inline script anywhere
// (the pages' Content-Security-Policy forbids it), so everything is wired here by data- attributes.
(function () {
  "use strict";

  // MLflow's client prints links like /#/experiments/1/runs/abc; the fragment never reaches the server,
  // so the page at / sends the browser on to Dockyard's URL for the same thing.
  function pathFromMlflowHash(hash) {
    var m = /^#\/experiments\/([^/?#]+)\/runs\/([^/?#]+)/.exec(hash);
    if (m) return "/runs/" + m[2];
    m = /^#\/experiments\/([^/?#]+)\/?$/.exec(hash) || /^#\/experiments\/([^/?#]+)[/?]/.exec(hash);
    if (m) return "/experiments/" + m[1];
    m = /^#\/models\/([^/?#]+)\/versions\/([^/?#]+)/.exec(hash);
    if (m) return "/models/" + m[1] + "/versions/" + m[2];
    m = /^#\/models\/([^/?#]+)/.exec(hash);
    if (m) return "/models/" + m[1];
    if (/^#\/models\/?$/.test(hash)) return "/models";
    if (/^#\/compare-runs/.test(hash)) {
      var q = /runs=([^&]*)/.exec(hash);
      if (q) {
        try { return "/compare?runs=" + encodeURIComponent(JSON.parse(decodeURIComponent(q[1])).join(",")); }
        catch (e) { return "/"; }
      }
    }
    return null;
  }

  var target = location.hash ? pathFromMlflowHash(location.hash) : null;
  if (target) {
    var loginForm = document.querySelector("form[data-next-from-hash]");
    if (loginForm) {
      loginForm.querySelector("input[name=next]").value = target;
    } else if (location.pathname === "/") {
      location.replace(target);
      return;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    wire(event.target);
  });

  function wire(root) {
    // Forms that destroy something ask first: <form data-confirm="Delete experiment x?">
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    // The compare button counts the runs ticked in its form.
    root.querySelectorAll("form[data-compare]").forEach(function (form) {
      var button = form.querySelector("button[data-compare-button]");
      if (!button || form.dataset.wired) return;
      form.dataset.wired = "1";
      function update() {
        var n = form.querySelectorAll("input[name=runs]:checked").length;
        button.disabled = n < 2;
        button.textContent = n ? "Compare " + n + " runs" : "Compare selected runs";
      }
      form.addEventListener("change", update);
      update();
    });
    // Elements that toggle another: <button data-toggle="id">
    root.querySelectorAll("[data-toggle]").forEach(function (el) {
      if (el.dataset.wired) return;
      el.dataset.wired = "1";
      el.addEventListener("click", function () {
        var other = document.getElementById(el.dataset.toggle);
        if (!other) return;
        other.hidden = !other.hidden;
        el.setAttribute("aria-expanded", String(!other.hidden));
        if (!other.hidden) { var first = other.querySelector("input, select, button"); if (first) first.focus(); }
      });
    });
    if (window.DockyardCharts) window.DockyardCharts.wire(root);
  }
})();
