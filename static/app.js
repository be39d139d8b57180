/*
 * Steward console behaviour.
 *
 * Loaded with `defer` after static/vendor/htmx.min.js. No inline script is
 * needed anywhere (CSP `script-src 'self'`). Every feature uses delegated
 * listeners on `document`, so it also works for content htmx swaps in later,
 * and the page still works when htmx is absent (the htmx:* events simply
 * never fire).
 *
 * Features:
 *  a. CSRF header on htmx requests (X-CSRF-Token from <meta name="csrf-token">)
 *  b. Modals: <dialog class="modal"> swapped into #modal-root is opened;
 *     [data-close-modal] closes; closing empties #modal-root;
 *     dialog.modal[data-open] is opened on page load (and after swaps).
 *     The server may also send `HX-Trigger: closeModal` to close open modals.
 *  c. [data-copy-target="#id"] copy buttons
 *  d. Typed confirmation: form[data-confirm-value] + input[data-confirm-input]
 *  e. .nav-toggle toggles body.nav-open (mobile sidebar)
 *  f. .flash [data-dismiss] removes the flash
 *  g. Focus: an open modal keeps Tab and Shift+Tab inside it, and on close
 *     gives the focus back to what opened it (a row menu's button when the
 *     opener was one of its items).
 *  h. Row menus (<details class="dropdown row-menu">): placed in the window
 *     (position: fixed, flipped above the button near the bottom), so a
 *     table's scroll box never clips them; Arrow keys move between items.
 *  htmx config: indicator <style> injection off (CSP); 422 responses swapped.
 *  Extras: <details class="dropdown"> menus close on outside click / Escape;
 *  the mobile sidebar closes on backdrop click / Escape.
 */
(function () {
  "use strict";

  var doc = document;

  function closestEl(node, selector) {
    while (node && node.nodeType !== 1) node = node.parentNode;
    return node && node.closest ? node.closest(selector) : null;
  }

  function eachIn(root, selector, fn) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches(selector)) fn(root);
    Array.prototype.forEach.call(root.querySelectorAll(selector), fn);
  }

  /* ---------------------------------------------------------------------
   * htmx configuration (only when htmx is loaded)
   * ------------------------------------------------------------------- */
  if (window.htmx && window.htmx.config) {
    // htmx would inject a <style> element for .htmx-indicator, which the
    // CSP (style-src 'self') blocks; app.css carries those rules instead.
    // This runs before htmx's own DOMContentLoaded initialisation.
    window.htmx.config.includeIndicatorStyles = false;
    // Let the server re-render a form with validation errors using
    // 422 Unprocessable Entity and still have htmx swap it in.
    var rh = window.htmx.config.responseHandling;
    if (Array.isArray(rh) && !rh.some(function (r) { return r && r.code === "422"; })) {
      rh.unshift({ code: "422", swap: true, error: false });
    }
  }

  /* Errors of htmx requests (403, 404, 429, 500…) ----------------------
   * htmx does not swap them, so without this a refused action would show
   * nothing. The server's error page says what happened: its heading and
   * message become an error flash at the top of the page, and any open
   * modal closes. */
  function showRequestError(xhr) {
    var heading = "Something went wrong";
    var message = "The request failed. Reload the page and try again.";
    if (xhr && xhr.responseText && window.DOMParser) {
      try {
        var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var h = page.querySelector(".error-card h1");
        var p = page.querySelector(".error-card h1 + p");
        if (h && h.textContent) heading = h.textContent.trim();
        if (p && p.textContent) message = p.textContent.trim();
      } catch (e) { /* keep the generic text */ }
    }
    var content = doc.getElementById("content") || doc.body;
    var old = content.querySelector(".flash.flash-request-error");
    if (old && old.parentNode) old.parentNode.removeChild(old);
    var flash = doc.createElement("div");
    flash.className = "flash flash-error flash-request-error";
    flash.setAttribute("role", "alert");
    flash.appendChild(doc.createTextNode(heading + ": " + message + " "));
    var close = doc.createElement("button");
    close.type = "button";
    close.className = "flash-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    flash.appendChild(close);
    content.insertBefore(flash, content.firstChild);
    eachIn(doc, "dialog.modal[open]", closeModal);
  }

  doc.addEventListener("htmx:responseError", function (evt) {
    showRequestError(evt.detail && evt.detail.xhr);
  });
  doc.addEventListener("htmx:sendError", function () {
    showRequestError(null);
  });

  /* a. CSRF ------------------------------------------------------------- */
  function csrfToken() {
    var meta = doc.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  doc.addEventListener("htmx:configRequest", function (evt) {
    var token = csrfToken();
    if (token && evt.detail && evt.detail.headers) {
      evt.detail.headers["X-CSRF-Token"] = token;
    }
  });

  /* b. Modals ----------------------------------------------------------- */
  function focusFirstField(dialog) {
    var target =
      dialog.querySelector("[autofocus]") ||
      dialog.querySelector(
        'input:not([type="hidden"]):not([disabled]):not([readonly]), select:not([disabled]), textarea:not([disabled]):not([readonly])'
      );
    if (target && typeof target.focus === "function") {
      try { target.focus(); } catch (e) { /* ignore */ }
    }
  }

  function openModal(dialog) {
    if (!dialog || dialog.open) return;
    if (typeof dialog.showModal === "function") {
      try {
        dialog.showModal();
      } catch (e) {
        // e.g. not connected to the document yet; fall back to non-modal.
        dialog.setAttribute("open", "");
      }
    } else {
      dialog.setAttribute("open", ""); // very old browsers
    }
    focusFirstField(dialog);
  }

  function closeModal(dialog) {
    if (!dialog) return;
    if (typeof dialog.close === "function") {
      if (dialog.open) dialog.close();
    } else {
      dialog.removeAttribute("open");
      onDialogClosed(dialog);
    }
  }

  function onDialogClosed(dialog) {
    var root = doc.getElementById("modal-root");
    if (root && root.contains(dialog)) {
      root.innerHTML = "";
    }
    restoreFocus();
  }

  /* g. What opened the modal gets the focus back when it closes. */
  var modalOpener = null;

  // The open modal, if any: not a dialog served as its own page.
  function openModalDialog() {
    var open = doc.querySelectorAll("dialog.modal[open]");
    for (var i = 0; i < open.length; i++) {
      if (!closestEl(open[i], ".dialog-page")) return open[i];
    }
    return null;
  }

  function isShown(el) {
    return !!el && el.isConnected && el.getClientRects().length > 0;
  }

  function rememberOpener(el) {
    // an item of a menu: the menu closes, and its button stands for the item
    var menu = closestEl(el, "details.dropdown");
    if (menu) {
      menu.removeAttribute("open");
      el = menu.querySelector("summary") || el;
    }
    modalOpener = el;
  }

  function restoreFocus() {
    var el = modalOpener;
    modalOpener = null;
    if (openModalDialog()) return;
    if (isShown(el) && typeof el.focus === "function") {
      try { el.focus(); } catch (e) { /* ignore */ }
    }
  }

  doc.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    var target = evt.detail && evt.detail.target;
    if (elt && target && target.id === "modal-root" && !closestEl(elt, "dialog")) rememberOpener(elt);
  });

  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
    'select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

  // Tab from the last control goes to the first, Shift+Tab from the first to
  // the last: the focus never leaves for the page behind (inert) or the
  // browser's own controls.
  doc.addEventListener("keydown", function (evt) {
    if (evt.key !== "Tab" || evt.altKey || evt.ctrlKey || evt.metaKey) return;
    var dialog = openModalDialog();
    if (!dialog) return;
    var items = Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), isShown);
    if (!items.length) { evt.preventDefault(); return; }
    var first = items[0], last = items[items.length - 1], active = doc.activeElement;
    var inside = dialog.contains(active);
    if (evt.shiftKey && (!inside || active === first || active === dialog)) {
      evt.preventDefault();
      last.focus();
    } else if (!evt.shiftKey && (!inside || active === last)) {
      evt.preventDefault();
      first.focus();
    }
  }, true);

  // Pages re-rendered by the server with a modal open (e.g. after an error).
  function openFlaggedModals(root) {
    eachIn(root, "dialog.modal[data-open]", function (dialog) {
      // a dialog served as its own page (a bookmark, a middle click) stays a page
      if (closestEl(dialog, ".dialog-page")) {
        focusFirstField(dialog);
        return;
      }
      // rendered with `open` so that it shows without JavaScript; reopen it as a real modal
      if (dialog.open && dialog.hasAttribute("open")) dialog.removeAttribute("open");
      openModal(dialog);
    });
  }

  doc.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail && evt.detail.target;
    if (!target) return;
    var root = target.id === "modal-root" ? target : null;
    // Also cover hx-swap="outerHTML" on #modal-root, where the original
    // target element has been replaced by the new one.
    if (!root && !target.isConnected) {
      var current = doc.getElementById("modal-root");
      if (current && evt.detail.elt && current.contains(evt.detail.elt)) root = current;
    }
    if (!root) return;
    var dialog = root.querySelector("dialog.modal");
    if (dialog) openModal(dialog);
  });

  // Any other swapped-in content may carry dialog.modal[data-open].
  doc.addEventListener("htmx:load", function (evt) {
    openFlaggedModals(evt.target);
    initConfirmForms(evt.target);
  });

  // `HX-Trigger: closeModal` from the server closes every open modal.
  doc.addEventListener("closeModal", function () {
    eachIn(doc, "dialog.modal[open]", closeModal);
  });

  // The `close` event does not bubble; listen in the capture phase.
  doc.addEventListener("close", function (evt) {
    var dialog = evt.target;
    if (dialog && dialog.matches && dialog.matches("dialog.modal")) onDialogClosed(dialog);
  }, true);

  // Clicking the backdrop (the dialog box itself, outside its content)
  // closes the modal. Track mousedown so a text selection dragged outside
  // the dialog does not close it.
  var pressedOnBackdrop = null;
  doc.addEventListener("mousedown", function (evt) {
    var t = evt.target;
    pressedOnBackdrop = t && t.matches && t.matches("dialog.modal[open]") ? t : null;
  });

  /* Delegated clicks: close modal, copy, nav toggle, flash dismiss ------ */
  doc.addEventListener("click", function (evt) {
    var t = evt.target;

    // b. [data-close-modal]
    var closer = closestEl(t, "[data-close-modal]");
    if (closer) {
      // A modal rendered as its own page (no htmx): a Cancel link navigates back.
      var root = doc.getElementById("modal-root");
      if (closer.tagName === "A" && !(root && root.contains(closer))) return;
      evt.preventDefault();
      closeModal(closestEl(closer, "dialog"));
      return;
    }
    if (t && t.matches && t.matches("dialog.modal[open]") && pressedOnBackdrop === t) {
      var r = t.getBoundingClientRect();
      var inside = evt.clientX >= r.left && evt.clientX <= r.right &&
                   evt.clientY >= r.top && evt.clientY <= r.bottom;
      // Keyboard-triggered clicks report 0,0; only close on real pointer hits.
      if (!inside && (evt.clientX !== 0 || evt.clientY !== 0)) {
        closeModal(t);
        return;
      }
    }

    // c. copy buttons
    var copyBtn = closestEl(t, "[data-copy-target]");
    if (copyBtn) {
      evt.preventDefault();
      copyFrom(copyBtn);
      return;
    }

    // e. nav toggle
    var toggle = closestEl(t, ".nav-toggle");
    if (toggle) {
      setNavOpen(!doc.body.classList.contains("nav-open"));
      return;
    }

    // f. flash dismiss
    var dismiss = closestEl(t, ".flash [data-dismiss]");
    if (dismiss) {
      var flash = closestEl(dismiss, ".flash");
      if (flash && flash.parentNode) flash.parentNode.removeChild(flash);
      return;
    }

    // Close the mobile sidebar when clicking outside it (on the backdrop).
    if (doc.body.classList.contains("nav-open") && !closestEl(t, "#sidebar, .sidebar")) {
      setNavOpen(false);
    }

    // Close open dropdown menus when clicking elsewhere.
    closeDropdowns(closestEl(t, "details.dropdown"));
  });

  /* c. Copy to clipboard ------------------------------------------------ */
  function copyFrom(button) {
    var selector = button.getAttribute("data-copy-target");
    var source = null;
    try { source = selector ? doc.querySelector(selector) : null; } catch (e) { source = null; }
    if (!source) return;
    var text = "value" in source && typeof source.value === "string"
      ? source.value
      : source.textContent;
    text = (text || "").trim();

    var done = function () { flashLabel(button, "Copied"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        if (legacyCopy(text, button)) done();
      });
    } else if (legacyCopy(text, button)) {
      done();
    }
  }

  // Fallback for non-secure contexts (e.g. plain http on a LAN address).
  // The textarea goes next to the button: with a modal open, everything
  // outside the dialog is inert and could not be selected.
  function legacyCopy(text, near) {
    var host = (near && closestEl(near, "dialog")) || doc.body;
    var ta = doc.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.setAttribute("tabindex", "-1");
    ta.setAttribute("aria-hidden", "true");
    ta.className = "sr-only";
    host.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = doc.execCommand("copy"); } catch (e) { ok = false; }
    host.removeChild(ta);
    if (near && typeof near.focus === "function") near.focus();
    return ok;
  }

  function flashLabel(button, label) {
    if (button._copyOriginal === undefined) button._copyOriginal = button.innerHTML;
    clearTimeout(button._copyTimer);
    button.textContent = label;
    button._copyTimer = setTimeout(function () {
      button.innerHTML = button._copyOriginal;
      button._copyOriginal = undefined;
    }, 1500);
  }

  /* d. Typed confirmation ----------------------------------------------- */
  function normalise(v) {
    return (v || "").trim().toLowerCase();
  }

  function updateConfirmForm(form) {
    var input = form.querySelector("[data-confirm-input]");
    if (!input) return;
    var ok = normalise(input.value) === normalise(form.getAttribute("data-confirm-value"));
    Array.prototype.forEach.call(form.querySelectorAll('button[type="submit"]'), function (b) {
      b.disabled = !ok;
    });
  }

  function initConfirmForms(root) {
    eachIn(root, "form[data-confirm-value]", updateConfirmForm);
  }

  doc.addEventListener("input", function (evt) {
    var input = closestEl(evt.target, "[data-confirm-input]");
    if (!input) return;
    var form = closestEl(input, "form[data-confirm-value]");
    if (form) updateConfirmForm(form);
  });

  /* e. Mobile navigation ------------------------------------------------ */
  function setNavOpen(open) {
    doc.body.classList.toggle("nav-open", open);
    eachIn(doc, ".nav-toggle", function (b) {
      b.setAttribute("aria-expanded", open ? "true" : "false");
    });
    if (open) {
      var first = doc.querySelector("#sidebar a, #sidebar summary, #sidebar button");
      if (first) first.focus();
    }
  }

  /* Dropdowns (<details class="dropdown">) ------------------------------ */
  function closeDropdowns(except) {
    eachIn(doc, "details.dropdown[open]", function (d) {
      if (d !== except) d.removeAttribute("open");
    });
  }

  /* h. Row menus ----------------------------------------------------------- */
  function placeMenu(details) {
    var menu = details.querySelector(".menu");
    var button = details.querySelector("summary");
    if (!menu || !button) return;
    if (!details.open) {
      menu.classList.remove("menu-fixed");
      menu.style.top = menu.style.left = "";
      return;
    }
    menu.classList.add("menu-fixed");
    var b = button.getBoundingClientRect();
    var m = menu.getBoundingClientRect();
    var width = doc.documentElement.clientWidth;
    var height = window.innerHeight;
    var left = Math.max(8, Math.min(b.right - m.width, width - m.width - 8));
    var top = b.bottom + 4;
    // no room below the button but room above: open upwards
    if (top + m.height > height - 8 && b.top - 4 - m.height >= 8) top = b.top - 4 - m.height;
    menu.style.left = left + "px";
    menu.style.top = Math.max(8, top) + "px";
  }

  // `toggle` does not bubble; listen in the capture phase.
  doc.addEventListener("toggle", function (evt) {
    var d = evt.target;
    if (d && d.matches && d.matches("details.row-menu")) {
      if (d.open) closeDropdowns(d);
      placeMenu(d);
    }
  }, true);

  function placeOpenMenus() {
    eachIn(doc, "details.row-menu[open]", placeMenu);
  }
  window.addEventListener("resize", placeOpenMenus);
  doc.addEventListener("scroll", placeOpenMenus, true);

  // Arrow keys move between a menu's items (.menu-item), from its button or
  // an item; ArrowDown on the button of a closed menu opens it. Fields in a
  // menu (the create-deployment form) keep their arrow keys.
  doc.addEventListener("keydown", function (evt) {
    if (evt.key !== "ArrowDown" && evt.key !== "ArrowUp") return;
    var t = evt.target;
    var menu = closestEl(t, "details.dropdown");
    if (!menu || !(t.tagName === "SUMMARY" || (t.classList && t.classList.contains("menu-item")))) return;
    var items = Array.prototype.filter.call(menu.querySelectorAll(".menu .menu-item"), function (i) {
      return (i.tagName === "A" && i.hasAttribute("href")) || (i.tagName === "BUTTON" && !i.disabled);
    });
    if (!items.length) return;
    if (!menu.open) {
      if (t.tagName !== "SUMMARY" || evt.key !== "ArrowDown") return;
      menu.setAttribute("open", "");
    }
    evt.preventDefault();
    var at = items.indexOf(doc.activeElement);
    var next = evt.key === "ArrowDown" ? (at + 1) % items.length : (at <= 0 ? items.length - 1 : at - 1);
    items[next].focus();
  });

  doc.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    // an open modal closes by itself (the dialog's own Escape)
    if (openModalDialog()) return;
    var openMenu = doc.querySelector("details.dropdown[open]");
    if (openMenu) {
      closeDropdowns(null);
      var summary = openMenu.querySelector("summary");
      if (summary) summary.focus();
      return;
    }
    if (doc.body.classList.contains("nav-open") && !doc.querySelector("dialog.modal[open]")) {
      setNavOpen(false);
      var toggle = doc.querySelector(".nav-toggle");
      if (toggle) toggle.focus();
    }
  });

  /* Initial page state -------------------------------------------------- */
  function init() {
    openFlaggedModals(doc);
    initConfirmForms(doc);
    eachIn(doc, ".nav-toggle", function (b) {
      if (!b.hasAttribute("aria-expanded")) b.setAttribute("aria-expanded", "false");
    });
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
