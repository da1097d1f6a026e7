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

  // Behaviour that must hold the moment an element is in the page is delegated from the document, so
  // it does not wait for htmx to process freshly swapped content (htmx wires new nodes ~20 ms later).
  // Forms that destroy something ask first: <form data-confirm="Delete experiment x?">. Capture phase,
  // so a refusal stops the submit before htmx or the browser sees it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  // Forms that apply themselves when a choice changes: <form data-autosubmit>. requestSubmit() goes
  // through htmx when it has wired the form, and is a plain GET of the same URL when it has not yet.
  document.addEventListener("change", function (event) {
    var el = event.target;
    var form = el && el.form;
    if (form && form.hasAttribute("data-autosubmit") && el.tagName === "SELECT") form.requestSubmit();
  });
  // Elements that toggle another: <button data-toggle="id">
  document.addEventListener("click", function (event) {
    var el = event.target instanceof Element ? event.target.closest("[data-toggle]") : null;
    if (!el) return;
    var other = document.getElementById(el.dataset.toggle);
    if (!other) return;
    other.hidden = !other.hidden;
    el.setAttribute("aria-expanded", String(!other.hidden));
    if (!other.hidden) { var first = other.querySelector("input, select, button"); if (first) first.focus(); }
  });

  function wire(root) {
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
    if (window.DockyardCharts) window.DockyardCharts.wire(root);
  }
})();
