// Renders /api/V1/openapi.json and lets the reader try each operation.
"use strict";

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value; else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
};

const pretty = (value) => JSON.stringify(value, null, 2);

function schemaText(schema, doc) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return pretty(doc.components.schemas[name]);
  }
  return pretty(schema || {});
}

function renderOperation(doc, path, method, op) {
  const box = el("details");
  box.append(el("summary", {}, el("span", { class: "verb " + method }, method.toUpperCase()),
    path + " — " + op.summary));
  const body = el("div", { class: "op" });
  if (op.description) body.append(el("p", {}, op.description));
  const params = op.parameters || [];
  const inputs = {};
  if (params.length) {
    const table = el("table", {}, el("tr", {}, el("th", {}, "Paramètre"), el("th", {}, "Où"),
      el("th", {}, "Description"), el("th", {}, "Valeur")));
    for (const p of params) {
      const input = el("input", { size: 18 });
      inputs[p.in + ":" + p.name] = input;
      table.append(el("tr", {}, el("td", {}, p.name + (p.required ? " *" : "")), el("td", {}, p.in),
        el("td", {}, p.description || ""), el("td", {}, input)));
    }
    body.append(table);
  }
  let editor = null;
  const content = op.requestBody && op.requestBody.content["application/json"];
  if (content) {
    body.append(el("h4", {}, "Corps (JSON)"));
    editor = el("textarea");
    editor.value = pretty(content.example || {});
    body.append(editor);
    const schema = el("details", {}, el("summary", {}, "Schéma du corps"),
      el("pre", {}, schemaText(content.schema, doc)));
    body.append(schema);
  }
  body.append(el("h4", {}, "Réponses"));
  const responses = el("table");
  for (const [status, answer] of Object.entries(op.responses || {})) {
    responses.append(el("tr", {}, el("td", {}, status), el("td", {}, answer.description)));
  }
  body.append(responses);
  const result = el("pre", {}, "");
  const run = el("button", { type: "button" }, "Essayer");
  run.addEventListener("click", async () => {
    let url = path;
    const query = new URLSearchParams();
    const headers = {};
    for (const p of params) {
      const value = inputs[p.in + ":" + p.name].value;
      if (!value) continue;
      if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(value));
      else if (p.in === "query") query.set(p.name, value);
      else if (p.in === "header") headers[p.name] = value;
    }
    if (query.toString()) url += "?" + query;
    const cle = document.getElementById("cle").value;
    const jeton = document.getElementById("jeton").value;
    if (cle) headers["X-API-Key"] = cle;
    if (jeton) headers["Authorization"] = "Bearer " + jeton;
    const init = { method: method.toUpperCase(), headers };
    if (editor) { headers["Content-Type"] = "application/json"; init.body = editor.value; }
    result.textContent = "…";
    try {
      const answer = await fetch(url, init);
      const text = await answer.text();
      let shown = text;
      try { shown = pretty(JSON.parse(text)); } catch (e) { /* not JSON */ }
      result.textContent = answer.status + " " + answer.statusText + "\n\n" + shown;
    } catch (error) {
      result.textContent = String(error);
    }
  });
  body.append(run, result);
  box.append(body);
  return box;
}

async function main() {
  const doc = await (await fetch("/api/V1/openapi.json")).json();
  document.getElementById("intro").textContent = doc.info.description;
  const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["Autres"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  const root = document.getElementById("operations");
  for (const [tag, ops] of byTag) {
    if (!ops.length) continue;
    root.append(el("h2", {}, tag));
    for (const [path, method, op] of ops) root.append(renderOperation(doc, path, method, op));
  }
}

main().catch((error) => {
  document.getElementById("intro").textContent = "Document indisponible : " + error;
});
