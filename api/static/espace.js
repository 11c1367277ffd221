/* Client space: live account figures, API key, send form, history of sends.
   Polls the session's JSON endpoints; every POST carries the CSRF token. */
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 1000;
  const LABELS = { EN_ATTENTE: "En attente", ENVOYE: "Envoyé", ECHEC: "Échec" };
  const REASONS = {
    NUMERO_INVALIDE: "numéro invalide", SOLDE_INSUFFISANT: "solde insuffisant",
    ERREUR_RESEAU: "erreur réseau", REJET_SMSC: "rejet de l'opérateur",
    CAMPAGNE_EXPIREE: "campagne expirée", ANNULE: "annulé",
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v); else node[k] = v;
    }
    for (const child of children) node.append(child);
    return node;
  }
  const badge = (statut) => el("span", { class: "badge " + (LABELS[statut] ? statut : "other"), text: LABELS[statut] || statut });
  const when = (iso) => iso ? new Date(iso).toLocaleString("fr-FR", { dateStyle: "short", timeStyle: "medium" }) : "—";
  const day = (iso) => iso ? new Date(iso).toLocaleDateString("fr-FR", { dateStyle: "long" }) : "—";

  async function call(url, options) {
    const response = await fetch(url, Object.assign({ credentials: "same-origin", headers: { "X-CSRF-Token": csrf, Accept: "application/json" } }, options || {}));
    if (response.status === 401) {
      window.location.assign("/espace/connexion?expiree=1");
      throw new Error("session");
    }
    const body = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, body };
  }
  function errorBox(body) {
    const err = (body && body.erreur) || { message: "Erreur inattendue : réessayez.", details: [] };
    const box = el("div", { class: "alert error", role: "alert", text: err.message });
    if (err.details && err.details.length) {
      box.append(el("ul", {}, ...err.details.map((d) => el("li", { text: (d.champ ? d.champ + " : " : "") + d.message }))));
    }
    return box;
  }

  /* -- live account figures -- */
  const liveDot = $("etat-direct");
  function setNumber(id, value) {
    const node = $(id);
    if (node && node.textContent !== String(value)) {
      node.textContent = String(value);
      node.parentElement.classList.remove("flash"); void node.offsetWidth; node.parentElement.classList.add("flash");
    }
  }
  async function refreshAccount() {
    try {
      const { ok, body } = await call("/espace/donnees/compte");
      if (!ok) throw new Error("compte");
      $("synthese").dataset.type = body.type;
      $("type-compte").textContent = body.type === "PREPAYE" ? "Prépayé" : "Postpayé";
      setNumber("solde", body.solde); setNumber("reserve", body.reserve);
      setNumber("consommation", body.consommation); setNumber("du", body.du);
      const exp = body.cleApi && body.cleApi.expiration;
      const expNode = $("cle-expiration");
      if (expNode.dataset.iso !== (exp || "")) { expNode.dataset.iso = exp || ""; }
      expNode.textContent = exp ? day(exp) + " à " + new Date(exp).toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" }) : "aucune clé active";
      $("btn-regenerer").textContent = exp ? "Régénérer la clé" : "Générer une clé";
      $("carte-factures").hidden = body.type !== "POSTPAYE" && !invoicesSeen;
      liveDot.classList.remove("off");
      $("maj").textContent = "Données en direct · mises à jour à " + new Date().toLocaleTimeString("fr-FR");
    } catch (e) {
      if (e.message === "session") return;
      liveDot.classList.add("off");
      $("maj").textContent = "Connexion perdue : nouvelle tentative…";
    }
  }

  /* -- API key -- */
  $("btn-regenerer").addEventListener("click", () => { $("confirmation").hidden = false; $("erreur-cle").hidden = true; });
  $("btn-annuler").addEventListener("click", () => { $("confirmation").hidden = true; });
  $("btn-confirmer").addEventListener("click", async () => {
    $("btn-confirmer").disabled = true;
    try {
      const { ok, body } = await call("/espace/cle", { method: "POST" });
      if (!ok) { $("erreur-cle").textContent = (body.erreur && body.erreur.message) || "Échec de la régénération."; $("erreur-cle").hidden = false; return; }
      $("nouvelle-cle").textContent = body.cleApi.cle;
      $("bloc-nouvelle-cle").hidden = false;
      $("confirmation").hidden = true;
      $("btn-copier").textContent = "Copier";
      refreshAccount();
    } finally { $("btn-confirmer").disabled = false; }
  });
  $("btn-copier").addEventListener("click", async () => {
    const text = $("nouvelle-cle").textContent;
    try { await navigator.clipboard.writeText(text); }
    catch (e) {
      const range = document.createRange(); range.selectNodeContents($("nouvelle-cle"));
      const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); document.execCommand("copy");
    }
    $("btn-copier").textContent = "Copiée ✓";
  });

  /* -- password -- */
  $("form-mot-de-passe").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = $("resultat-mot-de-passe");
    out.replaceChildren();
    $("btn-mot-de-passe").disabled = true;
    try {
      const { ok, body } = await call("/espace/mot-de-passe", { method: "POST", body: new URLSearchParams(new FormData(event.target)) });
      if (!ok) { out.append(errorBox(body)); return; }
      event.target.reset();
      out.append(el("p", { class: "alert success", text: body.message }));
    } finally { $("btn-mot-de-passe").disabled = false; }
  });

  /* -- send form -- */
  const form = $("form-envoi");
  function syncKind() {
    const multi = $("type-muldes").checked;
    form.querySelectorAll(".muldes").forEach((n) => { n.hidden = !multi; });
    form.querySelectorAll(".unides").forEach((n) => { n.hidden = multi; });
  }
  form.querySelectorAll('input[name="type"]').forEach((n) => n.addEventListener("change", syncKind));
  $("corps").addEventListener("input", () => { $("compteur-corps").textContent = $("corps").value.length + " / 160 caractères"; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = $("resultat-envoi");
    $("btn-envoyer").disabled = true;
    try {
      const { ok, body } = await call("/espace/envois", { method: "POST", body: new FormData(form) });
      out.replaceChildren();
      if (!ok) { out.append(errorBox(body)); return; }
      const msg = el("div", { class: body.statut === "ECHEC" ? "alert error" : "alert success" });
      msg.append("Envoi ", el("strong", { text: body.ref }), " accepté (" + body.type + ") : ", badge(body.statut));
      if (body.nbDestinataires !== undefined) msg.append(" · " + body.nbDestinataires + " destinataire(s), " + body.doublonsIgnores + " doublon(s) ignoré(s)");
      msg.append(" · " + body.segments + " SMS par destinataire (" + body.encodage + ")");
      if (body.avertissements) msg.append(el("ul", {}, ...body.avertissements.map((a) => el("li", { text: a }))));
      out.append(msg);
      $("corps").value = ""; $("compteur-corps").textContent = "0 / 160 caractères";
      history.cursors = [null]; history.page = 0;
      refreshHistory(); refreshAccount();
    } catch (e) {
      if (e.message !== "session") { out.replaceChildren(errorBox(null)); }
    } finally { $("btn-envoyer").disabled = false; }
  });

  /* -- history -- */
  const history = { cursors: [null], page: 0, next: null, open: new Set() };
  const tbody = document.querySelector("#historique tbody");
  ["filtre-type", "filtre-statut"].forEach((id) => $(id).addEventListener("change", () => {
    history.cursors = [null]; history.page = 0; refreshHistory();
  }));
  $("page-suivante").addEventListener("click", () => {
    if (!history.next) return;
    history.cursors[history.page + 1] = history.next; history.page += 1; refreshHistory();
  });
  $("page-precedente").addEventListener("click", () => {
    if (history.page === 0) return;
    history.page -= 1; refreshHistory();
  });

  function counters(c) {
    const parts = [c.ENVOYE + " envoyé(s)"];
    if (c.ECHEC) parts.push(c.ECHEC + " échec(s)");
    if (c.EN_ATTENTE) parts.push(c.EN_ATTENTE + " en attente");
    if (c.LIVRE) parts.push(c.LIVRE + " livré(s)");
    return parts.join(" · ");
  }
  function sendRow(s) {
    const toggle = el("button", { type: "button", class: "link", text: history.open.has(s.ref) ? "Masquer" : "Voir" });
    toggle.addEventListener("click", () => {
      if (history.open.has(s.ref)) history.open.delete(s.ref); else history.open.add(s.ref);
      refreshHistory();
    });
    return el("tr", { "data-ref": s.ref, "data-statut": s.statut },
      el("td", {}, el("code", { text: s.ref })), el("td", { text: when(s.creeLe) }), el("td", { class: "hide-sm", text: s.type }),
      el("td", { class: "hide-sm", text: s.emetteur }), el("td", { class: "corps hide-sm", title: s.corps, text: s.corps }),
      el("td", { class: "num hide-sm", text: String(s.nbDestinataires) }),
      el("td", {}, badge(s.statut), el("div", { class: "hint", text: counters(s.compteurs) })), el("td", {}, toggle));
  }
  async function detailRow(ref) {
    const { ok, body } = await call("/espace/donnees/envois/" + encodeURIComponent(ref) + "/messages?limite=100");
    const cell = el("td", { colSpan: 8 });
    if (!ok) { cell.append(errorBox(body)); return el("tr", { class: "detail" }, cell); }
    const rows = body.messages.map((m) => el("tr", { "data-destinataire": m.destinataire },
      el("td", { text: m.destinataire }), el("td", {}, badge(m.statut)),
      el("td", { text: m.raison ? (REASONS[m.raison] || m.raison) + (m.codeSmsc ? " (code " + m.codeSmsc + ")" : "") : "—" }),
      el("td", { class: "hide-sm", text: when(m.envoyeLe) }),
      el("td", { class: "hide-sm", text: m.livraison ? m.livraison + " · " + when(m.livreLe) : "—" })));
    cell.append(el("table", { class: "inner" },
      el("thead", {}, el("tr", {}, ...[["Destinataire", ""], ["Statut", ""], ["Raison", ""], ["Envoyé le", "hide-sm"], ["Accusé de réception", "hide-sm"]].map(([h, c]) => el("th", { class: c, text: h })))),
      el("tbody", {}, ...rows)));
    if (body.suivant) cell.append(el("p", { class: "hint", text: "Les 100 premiers destinataires sont affichés ; l'export CSV donne la liste complète." }));
    cell.append(el("p", { class: "actions" },
      el("a", { class: "button", href: "/espace/envois/" + encodeURIComponent(ref) + "/export.csv", text: "Exporter les destinataires (CSV)", "data-export": ref })));
    return el("tr", { class: "detail", "data-detail": ref }, cell);
  }
  let historyBusy = false;
  async function refreshHistory() {
    if (historyBusy) return;
    historyBusy = true;
    try {
      const params = new URLSearchParams();
      if ($("filtre-type").value) params.set("type", $("filtre-type").value);
      if ($("filtre-statut").value) params.set("statut", $("filtre-statut").value);
      const cursor = history.cursors[history.page];
      if (cursor) params.set("avant", cursor);
      const { ok, body } = await call("/espace/donnees/envois?" + params);
      if (!ok) { tbody.replaceChildren(el("tr", { class: "empty" }, el("td", { colSpan: 8 }, errorBox(body)))); return; }
      const rows = [];
      for (const s of body.envois) {
        rows.push(sendRow(s));
        if (history.open.has(s.ref)) rows.push(await detailRow(s.ref));
      }
      if (!rows.length) rows.push(el("tr", { class: "empty" }, el("td", { colSpan: 8, text: "Aucun envoi ne correspond." })));
      tbody.replaceChildren(...rows);
      history.next = body.suivant;
      $("page-suivante").disabled = !body.suivant;
      $("page-precedente").disabled = history.page === 0;
      $("page-numero").textContent = "Page " + (history.page + 1);
    } catch (e) { /* the account poll shows the connection state */ }
    finally { historyBusy = false; }
  }

  /* -- invoices -- */
  let invoicesSeen = false;
  async function refreshInvoices() {
    try {
      const { ok, body } = await call("/espace/donnees/factures");
      if (!ok) return;
      invoicesSeen = body.factures.length > 0;
      if (invoicesSeen) $("carte-factures").hidden = false;
      const rows = body.factures.map((f) => el("tr", {},
        el("td", { text: String(f.id) }), el("td", { text: day(f.debut) + " → " + day(f.fin) }),
        el("td", { class: "num", text: String(f.nbSms) }), el("td", { class: "num", text: f.montant + " SMS" }),
        el("td", {}, f.reglee ? el("span", { class: "badge ENVOYE", text: "Réglée" }) : el("span", { class: "badge EN_ATTENTE", text: "À régler" }))));
      if (rows.length) document.querySelector("#factures tbody").replaceChildren(...rows);
    } catch (e) { /* shown by the account poll */ }
  }

  syncKind();
  refreshAccount(); refreshHistory(); refreshInvoices();
  setInterval(refreshAccount, POLL_MS);
  setInterval(refreshHistory, POLL_MS);
  setInterval(refreshInvoices, 10 * POLL_MS);
})();
