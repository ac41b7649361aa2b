// The gateway's API as the page uses it. The key lives in this tab's sessionStorage only and travels
// as the X-API-Key header: never in a URL (which servers and proxies log), never kept past the tab.

const KEY_STORAGE = "fetal-denoise.api-key";

/** An answer that was not 2xx, with the server's own `detail`. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) {
    sessionStorage.setItem(KEY_STORAGE, key);
  } else {
    sessionStorage.removeItem(KEY_STORAGE);
  }
}

function keyHeaders() {
  const key = apiKey();
  return key ? { "X-API-Key": key } : {};
}

/** The server's message: FastAPI's `detail` is a string, or a list of field errors. */
function detailOf(status, body) {
  if (body && typeof body.detail === "string") {
    return body.detail;
  }
  if (body && Array.isArray(body.detail)) {
    return body.detail
      .map((item) => `${(item.loc || []).filter((part) => part !== "body" && part !== "query").join(".")}: ${item.msg}`)
      .join("; ");
  }
  return `the server answered ${status}`;
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return new ApiError(response.status, detailOf(response.status, body));
}

async function send(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { ...options, headers: { ...keyHeaders(), ...(options.headers || {}) } });
  } catch {
    throw new ApiError(0, "the server cannot be reached");
  }
  if (!response.ok) {
    throw await failure(response);
  }
  return response;
}

export async function getJson(path) {
  return (await send(path)).json();
}

export async function remove(path) {
  await send(path, { method: "DELETE" });
}

/** The file name a Content-Disposition header gives (RFC 6266: filename* wins over filename). */
export function dispositionName(header, fallback) {
  if (!header) {
    return fallback;
  }
  const extended = /filename\*\s*=\s*(?:utf-8|UTF-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1]);
    } catch {
      return fallback;
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"/.exec(header);
  return plain ? plain[1] : fallback;
}

/** A file from the API: its bytes and the name the server gives it. */
export async function getFile(path, fallbackName) {
  const response = await send(path);
  const name = dispositionName(response.headers.get("Content-Disposition"), fallbackName);
  return { buffer: await response.arrayBuffer(), name, type: response.headers.get("Content-Type") || "" };
}

/** POST a multipart form with upload progress (fetch cannot report it); resolves to the JSON answer. */
export function postForm(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    for (const [name, value] of Object.entries(keyHeaders())) {
      request.setRequestHeader(name, value);
    }
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        onProgress(event.loaded / event.total);
      }
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) {
        resolve(request.response);
      } else {
        reject(new ApiError(request.status, detailOf(request.status, request.response)));
      }
    });
    request.addEventListener("error", () => reject(new ApiError(0, "the upload failed: the server cannot be reached")));
    request.send(form);
  });
}
