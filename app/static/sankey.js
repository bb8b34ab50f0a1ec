/* Draws a challenge's funding flows as a Sankey diagram with d3-sankey (served by the app).
   Only DOM APIs that cannot interpret markup are used (createElementNS, textContent). */
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";

  function el(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function tallestColumn(flows) {
    const byKind = {};
    for (const node of flows.nodes) byKind[node.kind] = (byKind[node.kind] || 0) + 1;
    return Math.max(1, ...Object.values(byKind));
  }

  function draw(container, flows, format) {
    container.replaceChildren();
    if (!flows.links.length) {
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "No money has moved yet.";
      container.appendChild(empty);
      return;
    }
    const width = Math.max(container.clientWidth || 0, 576);
    // Text follows the page's type scale, so a wall screen gets wall-sized labels.
    const fontSize = Math.round(0.8 * parseFloat(getComputedStyle(container).fontSize || "15"));
    const height = Math.min(
      3000,
      Math.max(280, tallestColumn(flows) * fontSize * 2.4 + 40, width * 0.3),
    );
    const layout = d3.sankey()
      .nodeId((d) => d.id)
      .nodeAlign(d3.sankeyLeft)  // columns by kind: funders, challenge, milestones, actors
      .nodeWidth(14)
      .nodePadding(10)
      .extent([[1, 8], [width - 1, height - 8]]);
    const graph = layout({
      nodes: flows.nodes.map((n) => Object.assign({}, n)),
      links: flows.links.map((l) => ({ source: l.source, target: l.target, value: l.amount })),
    });
    const svg = el("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `Funding flows in ${flows.currency}`,
      "data-links": graph.links.length,
      "data-nodes": graph.nodes.length,
      "font-size": fontSize,
    });
    const links = el("g", { class: "links" }, svg);
    const path = d3.sankeyLinkHorizontal();
    for (const link of graph.links) {
      const line = el("path", {
        class: `link from-${link.source.kind}`,
        d: path(link),
        "stroke-width": Math.max(1, link.width),
      }, links);
      el("title", {}, line).textContent =
        `${link.source.label} → ${link.target.label}: ${format(link.value, flows.currency)} ${flows.currency}`;
    }
    const nodes = el("g", { class: "nodes" }, svg);
    for (const node of graph.nodes) {
      const box = el("rect", {
        class: `node kind-${node.kind}`,
        x: node.x0, y: node.y0,
        width: node.x1 - node.x0, height: Math.max(1, node.y1 - node.y0),
      }, nodes);
      el("title", {}, box).textContent =
        `${node.label}: ${format(node.value, flows.currency)} ${flows.currency}`;
      const left = node.kind === "actor" || node.kind === "verifier";  // last column: inward
      const label = el("text", {
        x: left ? node.x0 - 6 : node.x1 + 6,
        y: (node.y0 + node.y1) / 2,
        dy: "0.35em",
        "text-anchor": left ? "end" : "start",
      }, nodes);
      label.textContent = `${node.label} · ${format(node.value, flows.currency)}`;
    }
    container.appendChild(svg);
  }

  window.TributarySankey = { draw };
})();
