// Kith's own behaviour on top of the server's pages, all of it additive: every page works
// without it. Four small controllers (UI.md section 4):
//  - the keyboard map: one table drives the handlers, and the ? overlay lists the same keys;
//    single-key shortcuts are off inside form fields and when the agent switched them off
//    (<html data-shortcuts="off">, stored on the server; WCAG 2.1.4);
//  - the list: j/k or arrows move through the rows, Enter previews, Shift+Enter opens;
//  - the record's tabs: roving tabindex, arrows/Home/End move, Enter/Space activates (APG
//    tabs with manual activation), [ and ] switch;
//  - focus after every swap lands somewhere on purpose (the tab, the form's first field, the
//    pencil after a save), never on the page body.
(function () {
  "use strict";
  var d = document, root = d.documentElement;
  root.classList.add("js");

  function typing(el) {
    if (!el) return false;
    var t = el.tagName;
    return t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || el.isContentEditable;
  }
  function rows() { return Array.prototype.slice.call(d.querySelectorAll("#list-results tbody tr a.row-link")); }
  function currentRow() {
    var list = rows(), i = list.indexOf(d.activeElement);
    return { list: list, i: i };
  }
  function move(step) {
    var c = currentRow();
    if (!c.list.length) return;
    var i = c.i < 0 ? (step > 0 ? 0 : c.list.length - 1) : Math.min(c.list.length - 1, Math.max(0, c.i + step));
    c.list[i].focus();
    c.list[i].scrollIntoView({ block: "nearest" });
  }
  function preview(link) {
    var p = link && link.closest("tr") && link.closest("tr").querySelector("a.preview-link");
    if (p) p.click();
  }
  function tabs() { return Array.prototype.slice.call(d.querySelectorAll('[role="tablist"] [role="tab"]')); }
  function switchTab(step) {
    var list = tabs(), i = list.findIndex(function (t) { return t.getAttribute("aria-selected") === "true"; });
    if (i < 0) return;
    var next = list[(i + step + list.length) % list.length];
    next.focus();
    next.click();
  }
  function firstPencil() {
    var inFocus = d.activeElement && d.activeElement.closest && d.activeElement.closest(".group");
    var p = (inFocus && inFocus.querySelector("a.pencil")) || d.querySelector("#tabpanel a.pencil, a.pencil");
    if (p) p.click();
  }

  // the keyboard map: key → [action, needs no modifier]
  var keys = {
    "/": function () { var q = d.getElementById("q"); if (q) { q.focus(); q.select(); return true; } },
    "s": function () { return keys["/"](); },
    "j": function () { move(1); return true; },
    "k": function () { move(-1); return true; },
    "[": function () { switchTab(-1); return true; },
    "]": function () { switchTab(1); return true; },
    "e": function () { firstPencil(); return true; },
    "x": function () { return pick(); },
    "t": function () { return press("t"); },
    "m": function () { return press("m"); },
    "n": function () { return press("n"); },
    "?": function () { var h = d.getElementById("shortcut-help"); if (h && h.showModal) { h.showModal(); return true; } }
  };
  // bulk selection: x ticks the focused row; the count of ticked rows is said and shown
  function pick() {
    var link = d.activeElement, row = link && link.closest && link.closest("#list-results tbody tr");
    var box = row && row.querySelector("input[name=ids]");
    if (!box) return false;
    box.checked = !box.checked;
    countPicked();
    return true;
  }
  function countPicked() {
    var out = d.getElementById("bulk-count");
    if (!out) return;
    var n = d.querySelectorAll("#list-results input[name=ids]:checked").length;
    // on a phone the bulk bar waits until a row is ticked
    d.body.classList.toggle("bulk-idle", n === 0);
    out.textContent = n === 0 ? out.getAttribute("data-none") : n === 1 ? out.getAttribute("data-one") : out.getAttribute("data-many").replace("999999", n);
  }
  d.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-pick-all")) {
      d.querySelectorAll("#list-results input[name=ids]").forEach(function (b) { b.checked = t.checked; });
    }
    if (t.name === "ids" || t.hasAttribute("data-pick-all")) countPicked();
  });
  d.addEventListener("submit", function (ev) {
    // the list may have changed under search-as-you-type: come back to the list as it is now
    if (ev.target.id === "bulk") ev.target.elements.return_to.value = location.pathname + location.search.replace(/([?&])done=\d+&?/, "$1");
  });
  d.addEventListener("htmx:afterSwap", countPicked);

  // the page's control for a single-key shortcut (aria-keyshortcuts names it)
  function press(key) {
    var el = d.querySelector('[aria-keyshortcuts="' + key + '"]');
    if (!el) return false;
    if (el.tagName === "TEXTAREA" || el.tagName === "INPUT") el.focus(); else el.click();
    return true;
  }

  // a quick action's page shown in the modal dialog (its link still works as a page)
  var opener = null;
  function openDialog(link) {
    var dlg = d.getElementById("dialog");
    if (!dlg || !dlg.showModal || !window.htmx) return false;
    opener = link;
    window.htmx.ajax("GET", link.getAttribute("href"), { target: "#dialog-body", swap: "innerHTML" }).then(function () {
      if (!dlg.open) dlg.showModal();
      var first = dlg.querySelector("#dialog-body input:not([type=hidden]), #dialog-body button");
      if (first) first.focus();
    });
    return true;
  }
  d.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a[data-dialog]");
    if (!link || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    if (openDialog(link)) ev.preventDefault();
  });
  d.addEventListener("close", function (ev) {
    if (ev.target.id === "dialog") {
      d.getElementById("dialog-body").innerHTML = "";
      if (opener) opener.focus();
    }
  }, true);

  d.addEventListener("keydown", function (ev) {
    var el = d.activeElement;
    // Ctrl/Cmd+Enter saves the form being edited, Esc cancels it
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && el && el.form) {
      ev.preventDefault();
      el.form.requestSubmit();
      return;
    }
    if (ev.key === "Escape" && el && el.form) {
      var cancel = el.form.querySelector("[data-cancel]");
      if (cancel) { ev.preventDefault(); cancel.click(); return; }
    }
    // arrows and Enter in the list (the row links have focus)
    if (el && el.classList && el.classList.contains("row-link") && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
      if (ev.key === "ArrowDown") { ev.preventDefault(); move(1); return; }
      if (ev.key === "ArrowUp") { ev.preventDefault(); move(-1); return; }
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); preview(el); return; }
      if (ev.key === "Enter" && ev.shiftKey) { ev.preventDefault(); window.location.href = el.href; return; }
    }
    // Enter on an exact `#id`, address or phone number: a plain search, which opens the record
    if (el && el.id === "q" && ev.key === "Enter" && /^(#\d+|\S+@\S+\.\S+|\+?[\d ()-]{6,})$/.test(el.value.trim())) {
      ev.preventDefault();
      el.form.submit();
      return;
    }
    // from the search field, ↓ goes to the first result
    if (el && el.id === "q" && ev.key === "ArrowDown") { ev.preventDefault(); move(1); return; }
    // tabs: arrows move focus, Home/End, Enter/Space activate (the link's own click)
    if (el && el.getAttribute && el.getAttribute("role") === "tab") {
      var list = tabs(), i = list.indexOf(el), to = -1;
      if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
        var step = (ev.key === "ArrowRight") === (root.dir !== "rtl") ? 1 : -1;
        to = (i + step + list.length) % list.length;
      } else if (ev.key === "Home") to = 0;
      else if (ev.key === "End") to = list.length - 1;
      else if (ev.key === " ") { ev.preventDefault(); el.click(); return; }
      if (to >= 0) {
        ev.preventDefault();
        list.forEach(function (t, n) { t.tabIndex = n === to ? 0 : -1; });
        list[to].focus();
        return;
      }
    }
    // single-key shortcuts: not in form fields, not with Alt/Ctrl/Meta, not when switched off
    if (root.getAttribute("data-shortcuts") === "off" || typing(el) || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var k = ev.key === "ArrowDown" ? "j" : ev.key === "ArrowUp" ? "k" : ev.key;
    if ((k === "j" || k === "k") && !rows().length) return;
    var action = keys[k];
    if (action && action()) ev.preventDefault();
  });

  // double-click on a row opens the full record
  d.addEventListener("dblclick", function (ev) {
    var row = ev.target.closest && ev.target.closest("#list-results tbody tr");
    var link = row && row.querySelector("a.row-link");
    if (link) window.location.href = link.href;
  });
  // a plain click on a row's name previews it (Ctrl/Cmd/middle click still opens a tab)
  d.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a.row-link");
    if (!link || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    if (!d.getElementById("preview-pane")) return;
    ev.preventDefault();
    link.focus();
    preview(link);
  });
  // the list's width (three panes): a window splitter, dragged or moved with the keyboard,
  // kept in this browser
  var MIN_LIST = 360, MAX_LIST = 960;
  function setListWidth(handle, px) {
    var w = Math.round(Math.min(MAX_LIST, Math.max(MIN_LIST, px)));
    handle.closest(".panes").style.setProperty("--list-width", w + "px");
    handle.setAttribute("aria-valuenow", String(w));
    try { localStorage.setItem("kith.listWidth", String(w)); } catch (e) { /* private mode */ }
  }
  function listWidth(handle) { return handle.closest(".list-pane").getBoundingClientRect().width; }
  d.addEventListener("keydown", function (ev) {
    var h = ev.target;
    if (!h.classList || !h.classList.contains("pane-handle")) return;
    var step = ev.shiftKey ? 64 : 16, w = listWidth(h), rtl = root.dir === "rtl";
    if (ev.key === "ArrowRight") setListWidth(h, w + (rtl ? -step : step));
    else if (ev.key === "ArrowLeft") setListWidth(h, w + (rtl ? step : -step));
    else if (ev.key === "Home") setListWidth(h, MIN_LIST);
    else if (ev.key === "End") setListWidth(h, MAX_LIST);
    else return;
    ev.preventDefault();
    ev.stopPropagation();
  }, true);
  d.addEventListener("pointerdown", function (ev) {
    var h = ev.target;
    if (!h.classList || !h.classList.contains("pane-handle")) return;
    ev.preventDefault();
    h.setPointerCapture(ev.pointerId);
    var start = listWidth(h) - ev.clientX * (root.dir === "rtl" ? -1 : 1);
    function move(e) { setListWidth(h, start + e.clientX * (root.dir === "rtl" ? -1 : 1)); }
    function up() { h.removeEventListener("pointermove", move); h.removeEventListener("pointerup", up); }
    h.addEventListener("pointermove", move);
    h.addEventListener("pointerup", up);
  });
  // below three panes the directory's views open and close behind a button
  d.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest(".nav-toggle");
    if (!b) return;
    var open = b.getAttribute("aria-expanded") !== "true";
    b.setAttribute("aria-expanded", String(open));
    b.closest(".nav-pane").classList.toggle("open", open);
  });
  // copy buttons
  d.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("[data-copy]");
    if (b && navigator.clipboard) navigator.clipboard.writeText(b.getAttribute("data-copy"));
    var help = ev.target.closest && ev.target.closest("[data-shortcut-help]");
    if (help) keys["?"]();
  });

  // focus after swaps: a tab switch keeps focus on the (new) selected tab; an edit form puts
  // it in its first field; a saved or cancelled group puts it back on its pencil. After the
  // settle, not the swap: only then has htmx wired the new content (a key pressed at once must
  // reach an enhanced link, not follow the plain one).
  var lastTrigger = null;
  d.addEventListener("htmx:beforeRequest", function (ev) { lastTrigger = ev.detail.elt; });
  d.addEventListener("htmx:afterSettle", function (ev) {
    var t = ev.detail.target;
    if (!t || !t.id) return;
    var fresh = d.getElementById(t.id) || t;
    if (fresh.id === "record-tabs") {
      var sel = fresh.querySelector('[role="tab"][aria-selected="true"]');
      if (sel) sel.focus();
    } else if (fresh.id.indexOf("group-") === 0) {
      var field = fresh.querySelector("[aria-invalid=true], form input:not([type=hidden]), form select, form textarea");
      var pencil = fresh.querySelector("a.pencil");
      (field || pencil || fresh).focus();
    } else if (fresh.id === "members" || fresh.id === "comments") {
      var next = fresh.querySelector("input[name=confirm_public_domain], [aria-invalid=true], #rule-value, #comment-body");
      if (next && lastTrigger && lastTrigger.id !== "rule-value") next.focus();
    } else if (fresh.id === "emails" || fresh.id === "phones") {
      var input = fresh.querySelector("[aria-invalid=true]") || fresh.querySelector("input[type=email], input[type=tel]");
      if (input) input.focus();
    } else if (fresh.id === "dialog-body") {
      // a chosen user shows the merge button; a refused merge its reason; else the search
      var target = fresh.querySelector("[role=alert]") ? fresh.querySelector("#merge-q")
        : fresh.querySelector(".merge-sides ~ .form-actions button[type=submit]") || fresh.querySelector("#merge-q");
      if (target) target.focus();
    } else if (fresh.id === "preview-pane" && lastTrigger && lastTrigger.classList.contains("preview-link")) {
      var row = lastTrigger.closest("tr");
      var link = row && row.querySelector("a.row-link");
      if (link) link.focus();
    }
  });
  d.addEventListener("DOMContentLoaded", function () {
    countPicked();
    // a page opened in an edit state (?edit=<group>, or a plain link followed before htmx
    // wired it) starts in the form's first field
    var editing = d.querySelector(".group.editing");
    var field = editing && editing.querySelector("[aria-invalid=true], form input:not([type=hidden]), form select, form textarea");
    // a link to a field (`n`: …/comments#comment-body) lands in it, ready to type
    var aimed = location.hash.length > 1 && d.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!field && aimed && aimed.matches("input, textarea, select")) field = aimed;
    if (field) field.focus();
    var handle = d.querySelector(".pane-handle");
    if (handle) {
      handle.hidden = false;
      var kept = null;
      try { kept = parseInt(localStorage.getItem("kith.listWidth"), 10); } catch (e) { /* private mode */ }
      if (kept) setListWidth(handle, kept); else handle.setAttribute("aria-valuenow", String(Math.round(listWidth(handle))));
    }
    d.querySelectorAll("[data-copy], [data-shortcut-help], [data-pick-all], .nav-toggle").forEach(function (b) { b.hidden = false; });
    // on a phone the tabs scroll sideways: bring the chosen one into view (not the page)
    var sel = d.querySelector('.tablist [aria-selected="true"]'), list = sel && sel.parentElement;
    if (list && list.scrollWidth > list.clientWidth) sel.scrollIntoView({ block: "nearest", inline: "center" });
  });
  d.addEventListener("htmx:load", function (ev) {
    ev.detail.elt.querySelectorAll && ev.detail.elt.querySelectorAll("[data-copy], [data-pick-all]").forEach(function (b) { b.hidden = false; });
  });
})();
