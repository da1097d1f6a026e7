// The registry pages: the promote and rollback forms' confirmation names what will move. app.js asks
// window.confirm(form.dataset.confirm) on submit; this keeps that text in step with the chosen values.
(function () {
  "use strict";

  function chosen(form, name) {
    var field = form.elements.namedItem(name);
    return field ? String(field.value || "").trim() : "";
  }

  function promoteText(form) {
    var version = chosen(form, "version"), alias = chosen(form, "alias"), stage = chosen(form, "stage");
    var moves = [];
    if (alias) moves.push("@" + alias.replace(/^@/, ""));
    if (stage) moves.push("stage " + stage);
    var force = form.elements.namedItem("force");
    var past = force && force.checked ? " Any failed validation gate is skipped (and recorded)." : "";
    if (!moves.length) return "Promote version " + version + " of " + form.dataset.model + "?" + past;
    return "Promote version " + version + " of " + form.dataset.model + " to " + moves.join(" and ") + "?" + past;
  }

  function rollbackText(form) {
    return "Roll back @" + chosen(form, "alias") + " of " + form.dataset.model +
      " to the version it held before its last move?";
  }

  function wire(form, text) {
    function update() { form.dataset.confirm = text(form); }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-promote]").forEach(function (form) { wire(form, promoteText); });
    document.querySelectorAll("form[data-rollback]").forEach(function (form) { wire(form, rollbackText); });
  });
})();
