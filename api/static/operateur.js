/* Operator console: reads the /operateur/flux event stream (one event a second),
   fills the tables and draws the throughput chart on a <canvas>. When the stream
   drops or goes silent, the page says "reconnexion…" and reopens it. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const WINDOW_POINTS = 300;          // 5 minutes at one event a second
  const SILENCE_MS = 3500;            // no event for this long: the stream is considered lost
  const SERIES = [
    { key: "ENVOYE", color: "#168a4a", label: "l-envoye" },
    { key: "ECHEC", color: "#c8322f", label: "l-echec" },
    { key: "REESSAI", color: "#d98b00", label: "l-reessai" },
  ];
  const points = [];
  let source = null, lastEvent = 0, retryTimer = null, backoff = 1000;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node[k] = v;
    }
    for (const child of children) node.append(child);
    return node;
  }
  const fmt = (n) => (typeof n === "number" ? n.toLocaleString("fr-FR") : n == null ? "—" : String(n));
  const badge = (s) => el("span", { class: "badge " + (["LIE", "DECONNECTE", "OK", "DEGRADE"].includes(s) ? s : "other"), text: s });
  const td = (v, num) => el("td", { class: num ? "num" : "", text: fmt(v) });

  /* -- connection state -- */
  function setState(state) {
    const pill = $("etat-flux");
    pill.dataset.etat = state;
    pill.textContent = state === "direct" ? "En direct" : state === "reconnexion" ? "Reconnexion…" : "Connexion…";
    $("bandeau-reconnexion").hidden = state !== "reconnexion";
  }
  function open() {
    if (source) source.close();
    clearTimeout(retryTimer);
    source = new EventSource("/operateur/flux");
    source.addEventListener("etat", (event) => {
      lastEvent = Date.now(); backoff = 1000;
      setState("direct");
      const data = JSON.parse(event.data);
      try { render(data); } finally { plot(data); }
    });
    source.addEventListener("fin", () => open());
    source.addEventListener("arret", () => { source.close(); setState("reconnexion"); reopenLater(); });
    source.onerror = () => {
      setState("reconnexion");
      if (source.readyState === EventSource.CLOSED) reopenLater();
    };
  }
  async function reopenLater() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(async () => {
      try {
        const r = await fetch("/operateur/instantane", { credentials: "same-origin" });
        if (r.status === 401 || r.status === 403) { window.location.reload(); return; }
      } catch (e) { /* still unreachable */ }
      backoff = Math.min(backoff * 2, 4000);
      open();
    }, backoff);
  }
  setInterval(() => {
    if (lastEvent && Date.now() - lastEvent > SILENCE_MS && $("etat-flux").dataset.etat !== "reconnexion") {
      setState("reconnexion");
      if (source) source.close();
      reopenLater();
    }
  }, 500);

  /* -- tables -- */
  function render(data) {
    const a = data.acteurs;
    $("derniere-maj").textContent = new Date(data.horodatage).toLocaleTimeString("fr-FR");
    const sante = data.sante || {};
    $("k-sante").replaceChildren(badge(sante.statut || "—"));
    $("k-liaisons").textContent = a.liaisons.filter((b) => b.state === "LIE").length + " / " + a.liaisons.length;
    $("k-envoyes").textContent = fmt(data.debit.ENVOYE);
    $("k-echecs").textContent = fmt(data.debit.ECHEC);
    $("k-attente").textContent = fmt(a.repartiteur.backlog);
    $("k-commit").textContent = fmt(a.stockage.last_commit_ms);

    const MODES = { SONDE: "sonde", UN_A_UN: "un à un" };
    document.querySelector("#t-liaisons tbody").replaceChildren(...a.liaisons.map((b) => {
      const used = b.window_size ? Math.round((100 * b.window_used) / b.window_size) : 0;
      const bar = el("i", {}, el("b"));
      bar.firstChild.style.width = used + "%";
      const row = el("tr", {}, td(b.index), el("td", {}, badge(b.state)),
        el("td", {}, el("span", { class: "meter", title: used + " %" }, bar, el("small", { text: b.window_used + "/" + b.window_size + (MODES[b.mode] ? " · " + MODES[b.mode] : "") }))),
        td(b.submitted, true), td(b.accepted, true), td(b.retries, true), td(b.throttled, true), td(b.failed, true),
        td(b.reconnects, true), td(b.rate_limit_per_s == null ? "—" : b.rate_limit_per_s + "/s", true));
      if (b.last_error) row.title = b.last_error;
      return row;
    }));

    const kv = [
      ["Messages en attente", a.repartiteur.backlog], ["Comptes en file", a.repartiteur.accounts_waiting],
      ["Comptes au débit max", a.repartiteur.rate_limited], ["Messages répartis", a.repartiteur.dispatched],
      ["Canal vers les liaisons", a.repartiteur.channel_used + " / " + a.repartiteur.channel_size],
      ["Stockage", a.stockage.backend + " (" + a.stockage.where + "), synchronisation " + a.stockage.sync],
      ["File du stockage", a.stockage.queue_depth], ["Dernier commit", a.stockage.last_commit_ms + " ms (" + a.stockage.last_group_size + " transactions)"],
      ["Transactions / commits", fmt(a.stockage.transactions) + " / " + fmt(a.stockage.commits)],
      ["Groupes rejoués transaction par transaction", fmt(a.stockage.replayed_groups)],
      ["Acteurs de compte", a.registre.actifs + " actifs, " + a.registre.redemarrages + " redémarrage(s)"],
      ["Tâches supervisées", (a.taches || []).length + " tâches, "
        + (a.taches || []).reduce((n, t) => n + t.restarts, 0) + " redémarrage(s)"
        + (a.taches || []).filter((t) => t.restarts > 0)
          .map((t) => " ; " + t.name + " ×" + t.restarts + (t.last_error ? " (" + t.last_error + ")" : "")).join("")],
      ["Accusés rapprochés", fmt(a.accuses.rapproches) + " (non rapprochés : " + fmt(a.accuses.non_rapproches) + ")"],
    ];
    const gc = a.processus && a.processus.collecteur;
    if (gc) {
      kv.push(["Collecteur de cycles", "passages " + gc.passages.map(fmt).join(" / ") + ", seuil " + fmt(gc.seuils[0]) +
        ", " + fmt(gc.trouves) + " objet(s) en cycle libéré(s), " + fmt(gc.geles) + " objets gelés au démarrage"]);
    }
    $("kv-moteur").replaceChildren(...kv.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: fmt(v) })]));

    const comptes = a.comptes.slice(0, 200);
    $("nb-comptes").textContent = a.comptes.length + " acteur(s)" + (a.comptes.length > 200 ? ", les 200 plus actifs affichés" : "");
    const rows = comptes.map((c) => {
      const row = el("tr", {}, td("#" + c.account_id), td(c.type), td(c.solde, true), td(c.reserve, true),
        td(c.consommation, true), td(c.du, true), td(c.mailbox, true), td(c.in_flight, true), td(c.debit_max + "/s", true), td(c.jetons, true));
      row.dataset.compte = c.account_id;
      return row;
    });
    document.querySelector("#t-comptes tbody").replaceChildren(...(rows.length ? rows : [el("tr", { class: "empty" }, el("td", { colSpan: 10, text: "Aucun compte actif." }))]));

    const camp = a.campagnes;
    $("carte-campagnes").hidden = !camp;
    if (camp) {
      const items = [
        ["En cours", camp.live], ["Suspendues", camp.suspended], ["Vagues lancées", camp.waves],
        ["Messages libérés", camp.released], ["Expirés", camp.expired], ["Annulés", camp.cancelled],
        ["Prochain créneau", camp.next_slot ? new Date(camp.next_slot).toLocaleString("fr-FR") : "—"],
        ["Boîte du planificateur", camp.mailbox],
      ];
      $("kv-campagnes").replaceChildren(...items.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: fmt(v) })]));
    }

    const sim = data.simulateur, kvSim = $("kv-simulateur");
    if (sim && kvSim) {
      const items = [
        ["Connexions", sim.connexions], ["Liaisons", Object.entries(sim.liaisons).filter(([, n]) => n).map(([m, n]) => n + " " + m).join(", ") || "aucune"],
        ["Soumissions acceptées", sim.soumisAcceptes], ["Soumissions rejetées", sim.soumisRejetes],
        ["Accusés envoyés", sim.accusesEnvoyes], ["Accusés acquittés", sim.accusesAcquittes],
        ["Débit soumis (1 s)", sim.debitSoumis1s + "/s"], ["Latence p50 / p99", sim.latenceP50Ms + " / " + sim.latenceP99Ms + " ms"],
      ];
      kvSim.replaceChildren(...items.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: fmt(v) })]));
    }

  }
  function plot(data) {
    points.push({ t: Date.parse(data.horodatage), v: data.debit });
    while (points.length > WINDOW_POINTS) points.shift();
    SERIES.forEach((s) => { $(s.label).textContent = fmt(data.debit[s.key] || 0); });
    draw();
  }

  /* -- throughput chart -- */
  const canvas = $("graphe-debit");
  function niceMax(v) {
    if (v <= 5) return 5;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }
  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const left = 52, right = 10, top = 10, bottom = 24;
    const pw = w - left - right, ph = h - top - bottom;
    let peak = 0;
    for (const p of points) for (const s of SERIES) peak = Math.max(peak, p.v[s.key] || 0);
    const ymax = niceMax(peak);
    canvas.dataset.max = String(peak);
    canvas.dataset.points = String(points.length);
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillStyle = "#5d6b7e"; ctx.strokeStyle = "#e2e7ef"; ctx.lineWidth = 1;
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const y = top + ph - (ph * i) / 4;
      ctx.beginPath(); ctx.moveTo(left, Math.round(y) + 0.5); ctx.lineTo(left + pw, Math.round(y) + 0.5); ctx.stroke();
      ctx.fillText(fmt((ymax * i) / 4), left - 8, y);
    }
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    const every = pw < 480 ? 2 : 1;
    for (let m = 0; m <= 5; m += every) {
      const x = left + pw - (pw * m * 60) / WINDOW_POINTS;
      ctx.textAlign = m === 0 ? "right" : m === 5 ? "left" : "center";
      ctx.fillText(m === 0 ? "maintenant" : "-" + m + " min", x, top + ph + 6);
    }
    const step = pw / (WINDOW_POINTS - 1);
    const offset = WINDOW_POINTS - points.length;
    for (const s of SERIES) {
      ctx.beginPath(); ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.lineJoin = "round";
      points.forEach((p, i) => {
        const x = left + (offset + i) * step, y = top + ph - (ph * (p.v[s.key] || 0)) / ymax;
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    }
  }
  window.addEventListener("resize", draw);

  setState("connexion");
  draw();
  open();
})();
