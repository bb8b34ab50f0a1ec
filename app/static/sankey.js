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

  const NODE_WIDTH = 14;
  const LABEL_OFFSET = 6;

  /* The rendered width of each label at this font size (an invisible SVG, removed after). */
  function measure(container, fontSize, labels) {
    const probe = el("svg", { "font-size": fontSize, width: 0, height: 0 });
    probe.style.position = "absolute";
    probe.style.visibility = "hidden";
    container.appendChild(probe);
    const widths = labels.map((label) => {
      const node = el("text", {}, probe);
      node.textContent = label;
      return node.getComputedTextLength();
    });
    probe.remove();
    return widths;
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
    // Text follows the page's type scale, so a wall screen gets wall-sized labels.
    const fontSize = Math.round(0.8 * parseFloat(getComputedStyle(container).fontSize || "15"));
    const height = Math.min(
      3000,
      Math.max(280, tallestColumn(flows) * fontSize * 2.4 + 40,
        Math.max(container.clientWidth || 0, 576) * 0.3),
    );
    const text = (node) => `${node.label} · ${format(node.value, flows.currency)}`;
    const layoutAt = (width, rightMargin) => d3.sankey()
      .nodeId((d) => d.id)
      .nodeAlign(d3.sankeyLeft)  // columns by kind: funders, challenge, milestones, actors
      .nodeWidth(NODE_WIDTH)
      // Within a column, node centres are at least a line apart: labels never overlap.
      .nodePadding(Math.max(10, Math.ceil(fontSize * 1.4)))
      .extent([[1, 8], [width - 1 - rightMargin, height - 8]])({
        nodes: flows.nodes.map((n) => Object.assign({}, n)),
        links: flows.links.map((l) => ({ source: l.source, target: l.target, value: l.amount })),
      });
    // Between two columns there must be room for the left column's labels (drawn rightward)
    // and the right column's (the last column's, drawn leftward): widen the diagram until
    // there is, and let its frame scroll sideways on a narrow screen rather than overlap.
    const base = Math.max(container.clientWidth || 0, 576);
    let graph = layoutAt(base, 0);
    const widths = measure(container, fontSize, graph.nodes.map(text));
    const columns = Math.max(...graph.nodes.map((n) => n.depth)) + 1;
    const rightward = new Array(columns).fill(0);
    const leftward = new Array(columns).fill(0);
    graph.nodes.forEach((node, i) => {
      const side = node.kind === "actor" ? leftward : rightward;
      side[node.depth] = Math.max(side[node.depth], widths[i]);
    });
    let gap = 0;
    for (let c = 0; c + 1 < columns; c += 1) {
      gap = Math.max(gap, rightward[c] + leftward[c + 1] + NODE_WIDTH + 4 * LABEL_OFFSET);
    }
    // The last column's rightward labels (milestones, before any actor is paid) need a margin.
    const rightMargin = rightward[columns - 1] ? rightward[columns - 1] + 2 * LABEL_OFFSET : 0;
    const width = Math.max(base, Math.ceil(gap * (columns - 1) + NODE_WIDTH + 2 + rightMargin));
    graph = layoutAt(width, rightMargin);
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
        x: left ? node.x0 - LABEL_OFFSET : node.x1 + LABEL_OFFSET,
        y: (node.y0 + node.y1) / 2,
        dy: "0.35em",
        "text-anchor": left ? "end" : "start",
      }, nodes);
      label.textContent = text(node);
    }
    // Wider than its frame: keep the labels' size and let the frame scroll sideways.
    if (width > (container.clientWidth || 0)) svg.style.width = `${width}px`;
    container.appendChild(svg);
  }

  window.TributarySankey = { draw };
})();
