// Starts and stops everything an E2E test needs: the debug build of the real app with its
// frontend embedded, a private X server (Xvfb), tauri-driver (which drives WebKitWebDriver),
// a fresh data directory, and one WebDriver session on the app.
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Session, waitFor } from "./webdriver.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS = path.join(ROOT, "artifacts", "e2e");

/** The app version the workspace declares, which the app must show. */
export function workspaceVersion() {
  const toml = readFileSync(path.join(ROOT, "Cargo.toml"), "utf8");
  const section = toml.slice(toml.indexOf("[workspace.package]"));
  const match = /^version\s*=\s*"([^"]+)"/m.exec(section);
  if (!match) throw new Error("no version in [workspace.package] of Cargo.toml");
  return match[1];
}

/**
 * Builds the app with its frontend embedded (`tauri build --debug --no-bundle`, with the
 * `debug-lifecycle` feature so tests can suspend and resume it like a phone); a plain
 * `cargo build` would load the Vite dev server instead. Set TIDESYNC_E2E_SKIP_BUILD=1 to reuse
 * the last build while iterating on a test.
 */
export function buildApp() {
  const binary = debugBinary("tidesync-app");
  if (process.env.TIDESYNC_E2E_SKIP_BUILD !== "1") {
    const result = spawnSync("npx", ["tauri", "build", "--debug", "--no-bundle", "--features", "debug-lifecycle"], {
      cwd: ROOT,
      stdio: "inherit",
    });
    if (result.status !== 0) throw new Error(`tauri build failed with status ${result.status}`);
  }
  return binary;
}

/** Where cargo puts the debug build of `name`: under CARGO_TARGET_DIR when it is set. */
export function debugBinary(name) {
  const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, "target");
  return path.join(targetDir, "debug", name);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `command` with a pipe on fd 3 and resolves with the child and the first line it
 * writes there: how Xvfb tells its display and dbus-daemon its address once they are ready.
 */
function startReporting(command, args) {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr.on("data", (chunk) => (err += chunk));
    child.stdio[3].on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve({ process: child, line: out.trim() });
    });
    child.once("exit", (code) => reject(new Error(`${command} exited with ${code}: ${err}`)));
    child.once("error", reject);
  });
}

/** Starts Xvfb on the first free display and resolves with its name, e.g. ":3". */
async function startXvfb() {
  const xvfb = await startReporting("Xvfb", ["-displayfd", "3", "-screen", "0", "1280x900x24", "-nolisten", "tcp"]);
  return { process: xvfb.process, display: `:${xvfb.line}` };
}

/**
 * Starts a private D-Bus session bus and resolves with its address. The app's single-instance
 * lock lives on the session bus, so a second launch needs one; a private bus with no service
 * files keeps the tester's keyring and notification daemon out of reach (the app then keeps
 * passwords in its own file and logs that it could not notify).
 */
async function startBus(home) {
  const config = path.join(home, "bus.conf");
  await writeFile(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=${os.tmpdir()}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const bus = await startReporting("dbus-daemon", [`--config-file=${config}`, "--nofork", "--print-address=3"]);
  return { process: bus.process, address: bus.line };
}

function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** A running app under WebDriver. Call `close()` in an `after` hook. */
export class App {
  /**
   * Starts the app; `env` adds variables to the app's environment. `home` is a home folder
   * an earlier launch kept (see `close`), for a test of what survives a restart; `args` are
   * the app's command-line arguments.
   */
  static async launch(binary, env = {}, home = undefined, args = []) {
    const app = new App();
    try {
      await app.#start(binary, env, home, args);
    } catch (error) {
      await app.close();
      throw error;
    }
    return app;
  }

  async #start(binary, extraEnv, home, args) {
    this.home = home ?? (await mkdtemp(path.join(os.tmpdir(), "tidesync-e2e-")));
    const xvfb = await startXvfb();
    this.xvfb = xvfb.process;
    const bus = await startBus(this.home);
    this.bus = bus.process;
    const port = await freePort();
    const nativePort = await freePort();
    const env = {
      ...process.env,
      DISPLAY: xvfb.display,
      // A fresh data, config and cache dir per run, so no test sees another's journal.
      XDG_DATA_HOME: path.join(this.home, "data"),
      XDG_CONFIG_HOME: path.join(this.home, "config"),
      XDG_CACHE_HOME: path.join(this.home, "cache"),
      // Folders the app creates for pairs go below HOME; never the tester's own.
      HOME: this.home,
      // A private session bus: one app per bus, and never the tester's keyring.
      DBUS_SESSION_BUS_ADDRESS: bus.address,
      ...extraEnv,
    };
    this.binary = binary;
    this.env = env;
    this.driverLog = "";
    this.driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.driver.stdout.on("data", (chunk) => (this.driverLog += chunk));
    this.driver.stderr.on("data", (chunk) => (this.driverLog += chunk));
    const base = `http://127.0.0.1:${port}`;
    await waitFor("tauri-driver to listen", async () => {
      if (this.driver.exitCode !== null) throw new Error(`tauri-driver exited: ${this.driverLog}`);
      return fetch(`${base}/status`).then(
        (r) => r.ok,
        () => false,
      );
    });
    this.session = await Session.create(base, { "tauri:options": { application: binary, args } });
  }

  /** Saves a screenshot of the webview at each size into artifacts/e2e/<name>-<w>x<h>.png. */
  async screenshots(name, sizes = [[1280, 800], [390, 844]]) {
    await mkdir(ARTIFACTS, { recursive: true });
    for (const [width, height] of sizes) {
      await this.session.setWindowRect(width, height);
      await waitFor(`the window to be ${width}x${height}`, async () => {
        const rect = await this.session.windowRect();
        return rect.width === width && rect.height === height;
      });
      await this.session.painted();
      await writeFile(path.join(ARTIFACTS, `${name}-${width}x${height}.png`), await this.session.screenshot());
    }
  }

  /** Stops everything and deletes the home folder, unless `keepHome` (returned then). */
  async close({ keepHome = false } = {}) {
    await this.session?.delete().catch(() => {});
    await stop(this.driver);
    await stop(this.xvfb);
    await stop(this.bus);
    if (keepHome) return this.home;
    if (this.home) await rm(this.home, { recursive: true, force: true });
    return undefined;
  }

  /**
   * Launches the app a second time on the same desktop, bus and data, as a person would from
   * the menu, and resolves with its exit code once it ended (it must hand over and end).
   */
  launchAgain(args = []) {
    const second = spawn(this.binary, args, { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    second.stdout.on("data", (chunk) => (log += chunk));
    second.stderr.on("data", (chunk) => (log += chunk));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        second.kill("SIGKILL");
        reject(new Error(`the second launch did not end: ${log}`));
      }, 60_000);
      second.once("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  /** Whether the page is shown ("visible") or its window hidden ("hidden"). */
  visibility() {
    return this.session.execute("return document.visibilityState");
  }

  /** Quits the app as the tray's Quit does, and waits for it to be gone. */
  async quit() {
    this.session.invoke("debug_quit").catch(() => {});
    await waitFor("the app to quit", async () => {
      const answer = await this.session.cmd("GET", "/window/handles").catch(() => null);
      return answer === null || (Array.isArray(answer) && answer.length === 0);
    });
  }
}
