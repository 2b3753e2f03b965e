// A small W3C WebDriver client over fetch: just the calls the E2E tests make.
// tauri-driver speaks this protocol and forwards it to WebKitWebDriver.

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriverError extends Error {
  constructor(method, path, status, value) {
    super(`${method} ${path} -> ${status}: ${value?.error ?? ""} ${value?.message ?? JSON.stringify(value)}`);
    this.status = status;
    this.code = value?.error;
  }
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async create(base, capabilities) {
    const value = await request(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    return new Session(base, value.sessionId);
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  async find(css) {
    const value = await this.cmd("POST", "/element", { using: "css selector", value: css });
    if (typeof value?.[ELEMENT] !== "string") throw new Error(`find ${css}: unexpected reply ${JSON.stringify(value)}`);
    return value[ELEMENT];
  }

  /** The element's visible text, or null while no element matches `css` (or it just went away). */
  async textOf(css) {
    try {
      const id = await this.find(css);
      return await this.cmd("GET", `/element/${id}/text`);
    } catch (error) {
      if (isGone(error)) return null;
      throw error;
    }
  }

  /**
   * Clicks the element, scrolled to the middle of the view first: at a phone's size a sticky
   * bar can cover an element WebDriver only scrolled to the edge of the view.
   */
  async click(css) {
    const id = await this.find(css);
    await this.execute('arguments[0].scrollIntoView({ block: "center" });', [{ [ELEMENT]: id }]);
    await this.cmd("POST", `/element/${id}/click`, {});
  }

  async type(css, text) {
    const id = await this.find(css);
    await this.cmd("POST", `/element/${id}/value`, { text });
  }

  /** The element's attribute, or null while no element matches `css`. */
  async attribute(css, name) {
    try {
      const id = await this.find(css);
      return await this.cmd("GET", `/element/${id}/attribute/${name}`);
    } catch (error) {
      if (isGone(error)) return null;
      throw error;
    }
  }

  /** Calls a command through the page's IPC, as the UI does; resolves with its answer. */
  invoke(command, args = {}) {
    return this.executeAsync(
      `const done = arguments[arguments.length - 1];
       window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then(
         (value) => done({ ok: value ?? null }),
         (error) => done({ error }),
       );`,
      [command, args],
    );
  }

  execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  executeAsync(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }

  /** Resolves once the page has painted twice, so a screenshot shows the current DOM. */
  painted() {
    return this.executeAsync(
      "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
    );
  }

  windowRect() {
    return this.cmd("GET", "/window/rect");
  }

  setWindowRect(width, height) {
    return this.cmd("POST", "/window/rect", { width, height });
  }

  async screenshot() {
    return Buffer.from(await this.cmd("GET", "/screenshot"), "base64");
  }

  delete() {
    return this.cmd("DELETE", "");
  }
}

/** The element is not there (yet), or went away with a re-render or a reload. */
function isGone(error) {
  return error instanceof WebDriverError && (error.code === "no such element" || error.code === "stale element reference");
}

async function request(base, method, path, body) {
  const response = await fetch(base + path, {
    // A WebDriver call that hangs (WebKit waiting on a frame that never comes) fails the test
    // instead of stalling CI.
    signal: AbortSignal.timeout(60_000),
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new WebDriverError(method, path, response.status, json.value);
  return json.value;
}

/** Polls `probe` until it returns a value other than undefined/null/false, or fails after `ms`. */
export async function waitFor(what, probe, ms = 30_000, every = 100) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await probe();
    if (last !== undefined && last !== null && last !== false) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
