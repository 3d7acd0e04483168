// virtsnap's tree page: polls tree.json (the agent's view of this node's Domains and their snapshot
// trees, laid out by the agent: controller/agent/web/tree_page_model.h) and draws each tree as SVG.
// Every name comes from users: it only ever reaches the page as a text node or an attribute value
// (textContent, setAttribute), never as markup.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';
const POLL_MS = 1500;
const NODE_W = 140;
const NODE_H = 58;
const COLUMN_W = 160;
const ROW_H = 96;
const PAD = 16;
const DETACHED_GAP = 28; // room for the title of the row of snapshots not on the hypervisor
const NAME_CHARS = 18;

function svg(tag, attributes) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    element.setAttribute(name, String(value));
  }
  return element;
}

function html(tag, className, text) {
  const element = document.createElement(tag);
  if (className) {
    element.className = className;
  }
  if (text !== undefined) {
    element.textContent = text;
  }
  return element;
}

function shortened(text, limit) {
  const chars = Array.from(text);
  return chars.length <= limit ? text : chars.slice(0, limit - 1).join('') + '\u2026';
}

function label(x, y, className, text) {
  const element = svg('text', { x: x, y: y, class: 'label ' + className, 'text-anchor': 'middle' });
  element.textContent = text;
  return element;
}

// The word under a snapshot's name: its phase, or why it has none.
function phaseText(snapshot) {
  if (!snapshot.managed) {
    return 'unmanaged';
  }
  return snapshot.phase || 'no phase yet';
}

function describe(snapshot) {
  const lines = [snapshot.name, 'phase: ' + phaseText(snapshot)];
  if (snapshot.current) {
    lines.push('current snapshot');
  }
  if (snapshot.parent) {
    lines.push('parent: ' + snapshot.parent);
  }
  if (!snapshot.inTree) {
    lines.push('not on the hypervisor');
  }
  if (snapshot.message) {
    lines.push(snapshot.message);
  }
  if (snapshot.deletionBlocked) {
    lines.push('deletion blocked: ' + snapshot.deletionBlocked);
  }
  return lines.join('\n');
}

function drawDomain(domain) {
  const section = html('section', 'domain');
  section.dataset.domain = domain.namespace + '/' + domain.name;
  const heading = html('h2', '', domain.namespace + '/' + domain.name);
  heading.append(html('span', 'domain-state', domain.state || 'no state yet'));
  section.append(heading);
  if (domain.snapshots.length === 0) {
    section.append(html('p', 'empty', 'No snapshots.'));
    return section;
  }
  const detachedRow = domain.snapshots.some((s) => !s.inTree);
  const top = (snapshot) => PAD + snapshot.row * ROW_H + (snapshot.inTree ? 0 : DETACHED_GAP);
  const centre = (snapshot) => PAD + snapshot.column * COLUMN_W + NODE_W / 2;
  const width = 2 * PAD + Math.max(domain.columns - 1, 0) * COLUMN_W + NODE_W;
  const height = 2 * PAD + Math.max(domain.rows - 1, 0) * ROW_H + NODE_H + (detachedRow ? DETACHED_GAP : 0);
  const picture = svg('svg', {
    class: 'tree',
    width: width,
    height: height,
    viewBox: '0 0 ' + width + ' ' + height,
    role: 'img',
  });
  picture.append(svg('title', {}));
  picture.firstChild.textContent = 'Snapshot tree of ' + domain.namespace + '/' + domain.name;

  const byName = new Map(domain.snapshots.map((s) => [s.name, s]));
  for (const snapshot of domain.snapshots) {
    const parent = snapshot.parent !== undefined ? byName.get(snapshot.parent) : undefined;
    if (!parent) {
      continue;
    }
    const x1 = centre(parent);
    const y1 = top(parent) + NODE_H;
    const x2 = centre(snapshot);
    const y2 = top(snapshot);
    const bend = (y2 - y1) / 2;
    const edge = svg('path', {
      class: 'edge',
      d: `M ${x1} ${y1} C ${x1} ${y1 + bend}, ${x2} ${y2 - bend}, ${x2} ${y2}`,
    });
    edge.dataset.parent = parent.name;
    edge.dataset.child = snapshot.name;
    picture.append(edge);
  }
  if (detachedRow) {
    const row = domain.rows - 1;
    const title = svg('text', { x: PAD, y: PAD + row * ROW_H + DETACHED_GAP - 10, class: 'row-title' });
    title.textContent = 'Not on the hypervisor:';
    picture.append(title);
  }
  for (const snapshot of domain.snapshots) {
    const x = centre(snapshot);
    const y = top(snapshot);
    const group = svg('g', { class: 'snapshot' });
    group.dataset.snapshot = snapshot.name;
    group.dataset.phase = snapshot.phase;
    group.dataset.current = String(snapshot.current);
    group.dataset.inTree = String(snapshot.inTree);
    group.dataset.managed = String(snapshot.managed);
    if (snapshot.deletionBlocked) {
      group.dataset.deletionBlocked = snapshot.deletionBlocked;
    }
    const classes = ['node', 'phase-' + (snapshot.phase || 'none')];
    if (!snapshot.managed) {
      classes.push('unmanaged');
    }
    if (snapshot.current) {
      classes.push('current');
    }
    if (snapshot.deletionBlocked) {
      classes.push('blocked');
    }
    const tooltip = svg('title', {});
    tooltip.textContent = describe(snapshot);
    group.append(tooltip);
    group.append(svg('rect', { class: classes.join(' '), x: x - NODE_W / 2, y: y, width: NODE_W, height: NODE_H, rx: 6 }));
    group.append(label(x, y + 18, 'name', shortened(snapshot.name, NAME_CHARS)));
    if (snapshot.current) {
      group.append(label(x, y + 34, 'current-mark', '\u2605 current \u00b7 ' + phaseText(snapshot)));
    } else {
      group.append(label(x, y + 34, 'note', phaseText(snapshot)));
    }
    if (snapshot.deletionBlocked) {
      group.append(label(x, y + 50, 'blocked-note', shortened('deletion blocked: ' + snapshot.deletionBlocked, 22)));
    } else if (snapshot.message) {
      group.append(label(x, y + 50, 'note', shortened(snapshot.message, 22)));
    }
    picture.append(group);
  }
  section.append(picture);
  return section;
}

function render(data) {
  const main = document.getElementById('domains');
  const parts = [];
  if (!data.synced) {
    parts.push(html('p', 'empty', "The agent's caches have not synced yet (is it holding the node's Lease?)."));
  } else if (data.domains.length === 0) {
    parts.push(html('p', 'empty', 'No Domains on this node.'));
  }
  for (const domain of data.domains) {
    parts.push(drawDomain(domain));
  }
  main.replaceChildren(...parts);
}

function setStatus(text, problem) {
  const status = document.getElementById('status');
  status.textContent = text;
  status.classList.toggle('problem', Boolean(problem));
}

let shown = null;

async function refresh() {
  try {
    const response = await fetch('tree.json', { cache: 'no-store' });
    if (!response.ok) {
      throw new Error('HTTP ' + response.status);
    }
    const text = await response.text();
    if (text !== shown) {
      render(JSON.parse(text));
      shown = text;
    }
    setStatus('Updated ' + new Date().toLocaleTimeString() + '; refreshed every ' + POLL_MS / 1000 + ' s.');
  } catch (error) {
    setStatus('Cannot read the trees from the agent: ' + error.message, true);
  } finally {
    setTimeout(refresh, POLL_MS);
  }
}

refresh();
