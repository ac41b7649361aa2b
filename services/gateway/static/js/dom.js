// DOM helpers that only ever write text: a file name or a server message is never parsed as HTML.

export function byId(id) {
  const element = document.getElementById(id);
  if (!element) {
    throw new Error(`the page has no #${id}`);
  }
  return element;
}

/** A new element with attributes and children; strings become text nodes. */
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) {
      node.setAttribute(name, String(value));
    }
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

export function setText(node, value) {
  node.textContent = value === undefined || value === null ? "" : String(value);
}

/** Show `message` in an alert paragraph, or hide it when there is none. */
export function showError(node, message) {
  setText(node, message || "");
  node.hidden = !message;
}

export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return "";
  }
  if (seconds < 60) {
    return `${Math.max(1, Math.round(seconds))} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** A number with `digits` decimals; null (e.g. an infinite PSNR the API sends as null) as "inf". */
export function formatNumber(value, digits) {
  if (value === null || value === undefined) {
    return "inf";
  }
  return Number(value).toFixed(digits);
}
