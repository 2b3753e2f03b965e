// The whole app in a real WebKit view: the demo remote synced, suspended and resumed, the page
// reloaded mid-sync, a sync cancelled, a wrong password against a real rclone server, a
// self-signed rclone server trusted by its fingerprint and synced, and a sign-in to the test
// kit's Nextcloud emulation by Login Flow v2, the browser's part played by the test, and
// automatic sync: turned on in a pair's settings, a file the test writes reaches the server
// without a click, and a conflict shows in the conflicts list; and the delete guard: a server
// that lost 70 files asks first, and "Restore them to the server" brings them back.
// The demo server is slowed to TIDESYNC_DEMO_RATE so that "mid-sync" lasts long enough to act.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  assertMirrors,
  bytesDone,
  DEMO_RATE,
  demoContent,
  JOB,
  jobState,
  startDemoSync,
  tree,
  untilBytes,
  untilState,
} from "./demo.mjs";
import { App, buildApp, debugBinary, ROOT } from "./harness.mjs";
import { waitFor } from "./webdriver.mjs";

let binary;

before(() => {
  binary = buildApp();
}, { timeout: 900_000 });

describe("the demo remote", () => {
  let app;
  after(() => app?.close());

  test("try the demo, watch the progress rise, and get the demo content byte for byte", async () => {
    app = await App.launch(binary, { TIDESYNC_DEMO_RATE: DEMO_RATE });
    await waitFor("the first-run screen", () => app.session.textOf('[data-testid="try-demo"]'));
    await waitFor("live updates", async () => (await app.session.attribute("main", "data-live")) === "true");
    assert.equal(await app.session.textOf('[role="alert"]'), null, "the first screen shows no error");
    await app.screenshots("first-run");
    const local = await startDemoSync(app);
    const seen = [];
    await waitFor("the progress to rise three times", async () => {
      const bytes = await bytesDone(app);
      if (bytes > (seen.at(-1) ?? 0)) seen.push(bytes);
      return seen.length >= 3;
    }, 60_000, 200);
    await app.screenshots("syncing");
    await untilState(app, "completed");
    // The Finished event (with the summary) follows the Completed state.
    const summary = await waitFor("the summary", () => app.session.textOf('[data-testid="summary"]'));
    assert.match(summary, /^\d+ downloaded/);
    await app.screenshots("finished");
    await assertMirrors(app, local);
  });
});

describe("a sync that lives through the app's life", () => {
  let app;
  after(() => app?.close());

  test("suspended and resumed mid-sync, it shows Suspended, then Running, and finishes right", async () => {
    app = await App.launch(binary, { TIDESYNC_DEMO_RATE: DEMO_RATE });
    const local = await startDemoSync(app);
    await untilBytes(app, 5_000_000);
    const suspended = await app.session.invoke("debug_lifecycle", { hint: "suspend" });
    assert.equal(suspended.ok?.changed, true, JSON.stringify(suspended));
    await untilState(app, "suspended", 10_000);
    assert.match(await app.session.textOf('[data-testid="job-state"]'), /Suspended/);
    await app.screenshots("suspended");
    const held = await bytesDone(app);
    await app.session.invoke("debug_lifecycle", { hint: "resume" });
    await untilState(app, "running", 10_000);
    await waitFor("the sync to move on", async () => (await bytesDone(app)) > held, 30_000, 50);
    await untilState(app, "completed");
    await assertMirrors(app, local);
  });

  test("the page reloaded mid-sync re-attaches to the same job and sees it finish", async () => {
    await app?.close();
    app = await App.launch(binary, { TIDESYNC_DEMO_RATE: DEMO_RATE });
    const local = await startDemoSync(app);
    const job = await app.session.attribute(JOB, "data-job-id");
    await untilBytes(app, 5_000_000);
    const before = await bytesDone(app);
    await app.session.execute("location.reload()");
    await waitFor("the same job after the reload", async () => (await app.session.attribute(JOB, "data-job-id")) === job);
    await waitFor("progress past where it was", async () => (await bytesDone(app)) > before, 30_000, 50);
    await app.screenshots("reloaded");
    await untilState(app, "completed");
    await assertMirrors(app, local);
  });

  test("cancelled mid-sync, it shows Cancelled and no partial file has a real name", async () => {
    await app?.close();
    app = await App.launch(binary, { TIDESYNC_DEMO_RATE: DEMO_RATE });
    const local = await startDemoSync(app);
    await untilBytes(app, 5_000_000);
    await app.session.click('[data-testid="cancel"]');
    await untilState(app, "cancelled", 10_000);
    await app.screenshots("cancelled");
    const want = await tree(demoContent(app));
    const got = await tree(local);
    // Downloads in flight when the cancel came stay as hidden parts, for the next run to resume:
    // with the small files done, every large one may be one. Only real names count as synced.
    const part = (file) => path.basename(file).startsWith(".tidesync-part-");
    const synced = [...got].filter(([file]) => !part(file));
    assert.ok(synced.length < want.size, "the sync stopped before the end");
    for (const [file, hash] of synced) assert.equal(hash, want.get(file), `${file} is complete or absent`);
  });
});

describe("automatic sync", () => {
  let app;
  after(() => app?.close());

  test("turned on in the settings, a file written into the folder reaches the server without a click", async () => {
    app = await App.launch(binary);
    const s = app.session;
    const local = await startDemoSync(app);
    await untilState(app, "completed");

    // The card may be drawn anew as the job ends, and a click on the one it replaced is lost:
    // click until the button says the sheet is open.
    await waitFor("the settings sheet", async () => {
      if ((await s.attribute('[data-testid="pair-settings-open"]', "aria-expanded")) !== "true") {
        await s.click('[data-testid="pair-settings-open"]').catch(() => {});
      }
      return s.textOf('[data-testid="pair-settings"]');
    });
    await s.click('[data-testid="settings-mode-twoWay"]');
    assert.match(await s.textOf('[data-testid="mode-warning"]'), /delete it on the server too/);
    await s.click('[data-testid="settings-auto"]');
    await app.screenshots("pair-settings");
    // A pattern of its own: the preview counts what it leaves out of the synced demo files.
    await s.type('[data-testid="excludes-patterns"]', "*.draft");
    await waitFor("the preview of what is left out", async () =>
      /Leaves out \d+ files? /.test((await s.textOf('[data-testid="excludes-preview"]')) ?? ""));
    await s.execute("document.querySelector('[data-testid=\"excludes\"]').scrollIntoView()");
    await app.screenshots("pair-excludes");
    await s.click('[data-testid="settings-save"]');
    await waitFor("the pair to show it is automatic", () => s.textOf('[data-testid="pair-auto"]'));
    await waitFor("the watcher", async () => /watching for changes/.test((await s.textOf('[data-testid="pair-status"]')) ?? ""), 30_000);

    const server = demoContent(app);
    await writeFile(path.join(local, "notes.draft"), "left out by the pair's pattern");
    await writeFile(path.join(local, "from-the-test.txt"), "written while nobody clicked");
    const arrived = await waitFor("the file on the demo server", () =>
      readFile(path.join(server, "from-the-test.txt"), "utf8").catch(() => null), 30_000);
    assert.equal(arrived, "written while nobody clicked");
    assert.equal(await readFile(path.join(server, "notes.draft"), "utf8").catch(() => null), null, "left out");
    await waitFor("the status to say when it synced", async () =>
      /Last synced just now/.test((await s.textOf('[data-testid="pair-status"]')) ?? ""), 30_000);
    await app.screenshots("automatic-sync");

    // Both sides change the same file: the server first, then this device.
    const [name] = [...(await tree(local)).keys()].filter((f) => !path.basename(f).startsWith(".")).sort();
    await writeFile(path.join(server, name), "changed on the server");
    await writeFile(path.join(local, name), "changed on this device");
    const conflict = await waitFor("the conflict in the list", () => s.textOf('[data-testid="conflict"]'), 30_000);
    assert.ok(conflict.includes(`This device's version of ${name}`), conflict);
    assert.equal(await readFile(path.join(local, name), "utf8"), "changed on the server");
    assert.equal((await s.invoke("list_jobs")).ok.filter((j) => j.state === "completed").length >= 3, true);
    await waitFor("one card per pair once its syncs are over", async () =>
      (await s.execute(`return document.querySelectorAll('${JOB}').length`)) === 1);
    await s.execute("document.querySelector('[data-testid=\"conflicts\"]').scrollIntoView()");
    await app.screenshots("conflict");
  });
});

describe("the delete guard", () => {
  let app;
  after(() => app?.close());

  test("a server that lost 70 files asks first, and \"Restore them to the server\" brings them back", async () => {
    app = await App.launch(binary);
    const s = app.session;
    const local = await startDemoSync(app);
    await untilState(app, "completed");
    await waitFor("the settings sheet", async () => {
      if ((await s.attribute('[data-testid="pair-settings-open"]', "aria-expanded")) !== "true") {
        await s.click('[data-testid="pair-settings-open"]').catch(() => {});
      }
      return s.textOf('[data-testid="pair-settings"]');
    });
    await s.click('[data-testid="settings-mode-twoWay"]');
    await s.click('[data-testid="settings-save"]');
    await waitFor("the sheet to close", async () => (await s.textOf('[data-testid="pair-settings"]')) === null);

    // More than 50 files and more than 30 % of the demo's 199.
    const server = demoContent(app);
    const full = await tree(server);
    const lost = [...full.keys()].filter((f) => !path.basename(f).startsWith(".")).sort().slice(0, 70);
    for (const file of lost) await rm(path.join(server, file));
    await s.click('[data-testid="sync-pair"]');
    const prompt = await waitFor("the prompt", () => s.textOf('[data-testid="delete-prompt"]'), 60_000);
    assert.match(prompt, /The server deleted 70 files/);
    assert.equal((await tree(local)).size, full.size, "nothing was deleted here");
    await s.execute("document.querySelector('[data-testid=\"delete-prompt\"]').scrollIntoView()");
    await app.screenshots("delete-prompt");

    await s.click('[data-testid="keep-them"]');
    // Read while uploads land: a temp file may go between the listing and the read.
    await waitFor("the server's full tree again", () =>
      tree(server).then((now) => now.size === full.size && [...full.keys()].every((f) => now.has(f)), () => false), 60_000);
    const back = await tree(server);
    for (const [file, hash] of full) assert.equal(back.get(file), hash, `${file} is back on the server`);
    await waitFor("the prompt to go", async () => (await s.textOf('[data-testid="delete-prompt"]')) === null);
  });
});

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
 * A self-signed certificate for 127.0.0.1 made with openssl in `dir`; returns its files and its
 * SHA-256 fingerprint as `AB:CD:…`, the way the app shows it.
 */
function selfSigned(dir) {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  const made = spawnSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=nas.home",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  assert.equal(made.status, 0, `openssl req: ${made.stderr}`);
  const shown = spawnSync("openssl", ["x509", "-in", cert, "-noout", "-fingerprint", "-sha256"], { encoding: "utf8" });
  assert.equal(shown.status, 0, `openssl x509: ${shown.stderr}`);
  return { cert, key, sha256: shown.stdout.trim().split("=")[1] };
}

/** A real `rclone serve webdav` with Basic auth on a loopback port; over TLS with `tls`. */
async function rclone(root, user, pass, tls = null) {
  const port = await freePort();
  const binary = process.env.TIDESYNC_RCLONE ?? path.join(ROOT, ".venv", "bin", "rclone");
  const args = ["serve", "webdav", "--addr", `127.0.0.1:${port}`, "--config", "/dev/null", "--user", user, "--pass", pass];
  if (tls) args.push("--cert", tls.cert, "--key", tls.key);
  const child = spawn(binary, [...args, root], { stdio: "ignore" });
  await waitFor("rclone to listen", () =>
    new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    }),
  );
  const scheme = tls ? "https" : "http";
  return { url: `${scheme}://127.0.0.1:${port}/`, stop: () => child.kill("SIGKILL") };
}

/** The account of the test kit's Nextcloud emulation (crates/testkit/src/nextcloud). */
const NC_USER = "alice";
const NC_ACCOUNT_PASSWORD = "alice-account-password";

/** The test kit's Nextcloud emulation as a process; `url` is the server's address. */
async function nextcloud() {
  const built = spawnSync("cargo", ["build", "--locked", "-p", "tidesync-testkit", "--bin", "nextcloud-emulation"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (built.status !== 0) throw new Error("the Nextcloud emulation did not build");
  const child = spawn(debugBinary("nextcloud-emulation"), [], { stdio: ["pipe", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve(out.split("\n")[0].trim());
    });
    child.on("exit", () => reject(new Error("the Nextcloud emulation exited")));
  });
  return { url, stop: () => child.kill("SIGKILL") };
}

/** Every file below `dir` whose bytes contain `secret`. */
async function filesContaining(dir, secret) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    const bytes = await readFile(full).catch(() => Buffer.alloc(0));
    if (bytes.includes(secret)) found.push(full);
  }
  return found;
}

describe("signing in to Nextcloud", () => {
  let app;
  let server;
  after(async () => {
    await app?.close();
    server?.stop();
  });

  test("Login Flow v2 in the browser saves an app password, never the account password, and syncs", async () => {
    server = await nextcloud();
    const basic = "Basic " + Buffer.from(`${NC_USER}:${NC_ACCOUNT_PASSWORD}`).toString("base64");
    const put = await fetch(`${server.url}remote.php/dav/files/${NC_USER}/Welcome.txt`, {
      method: "PUT",
      headers: { Authorization: basic },
      body: "signed in with an app password",
    });
    assert.equal(put.status, 201);
    app = await App.launch(binary);
    const s = app.session;
    await waitFor("the first-run screen", () => s.textOf('[data-testid="add-server"]'));
    await s.click('[data-testid="add-server"]');
    await s.type('[data-testid="remote-url"]', server.url);
    await s.type('[data-testid="remote-name"]', "Cloud");
    await s.click('[data-testid="sign-in-nextcloud"]');
    const loginUrl = await waitFor("the sign-in link", () => s.textOf('[data-testid="login-url"]'));
    assert.ok(loginUrl.startsWith(`${server.url}index.php/login/v2/flow/`), loginUrl);
    await app.screenshots("nextcloud-sign-in-waiting");

    // The browser's part: the server's own page, where the person types the account password.
    const page = await fetch(loginUrl);
    assert.match(await page.text(), /<form/);
    const form = new URLSearchParams({ flow: loginUrl.split("/").pop(), user: NC_USER, password: NC_ACCOUNT_PASSWORD });
    const granted = await fetch(`${server.url}index.php/login/v2/grant`, { method: "POST", body: form });
    assert.equal(granted.status, 200);

    assert.match(await waitFor("the saved server", () => s.textOf('[data-testid="form-ok"]'), 30_000), /Signed in/);
    const [remote] = (await s.invoke("list_remotes")).ok;
    assert.equal(remote.url, `${server.url}remote.php/dav/files/${NC_USER}/`);
    assert.equal(remote.user, NC_USER);
    assert.equal(remote.serverKind, "Nextcloud");
    assert.deepEqual(await filesContaining(app.home, NC_ACCOUNT_PASSWORD), [], "the account password is stored nowhere");

    await s.type('[data-testid="pair-folder-name"]', "Cloud");
    await s.click('[data-testid="pair-mode-download"]');
    await s.click('[data-testid="pair-submit"]');
    await s.click('[data-testid="tab-sync"]');
    const local = await waitFor("the pair", () => s.textOf('[data-testid="pair-local"]'));
    await s.click('[data-testid="sync-pair"]');
    await waitFor("the completed sync", async () => (await jobState(app)) === "completed", 60_000);
    assert.equal(await readFile(path.join(local, "Welcome.txt"), "utf8"), "signed in with an app password");
    await app.screenshots("nextcloud-signed-in-synced");
  });
});

describe("adding a server", () => {
  let app;
  let server;
  let served;
  after(async () => {
    await app?.close();
    server?.stop();
    if (served) await rm(served, { recursive: true, force: true });
  });

  test("a self-signed server's certificate is shown, trusted by its fingerprint, and synced", async () => {
    served = await mkdtemp(path.join(os.tmpdir(), "tidesync-e2e-tls-"));
    const files = path.join(served, "files");
    await mkdir(files);
    await writeFile(path.join(files, "hello.txt"), "over TLS, trusted by fingerprint");
    await mkdir(path.join(files, "Shared"));
    await writeFile(path.join(files, "Shared", "inside.txt"), "in a folder");
    const tls = selfSigned(served);
    server = await rclone(files, "alice", "right horse", tls);
    app = await App.launch(binary);
    const s = app.session;
    await waitFor("the first-run screen", () => s.textOf('[data-testid="add-server"]'));
    await s.click('[data-testid="add-server"]');
    await s.type('[data-testid="remote-url"]', server.url);
    await s.type('[data-testid="remote-name"]', "NAS");
    await s.type('[data-testid="remote-user"]', "alice");
    await s.type('[data-testid="remote-password"]', "right horse");
    await s.click('[data-testid="remote-submit"]');
    const kind = await waitFor("the refusal", () => s.attribute('[data-testid="form-error"]', "data-kind"));
    assert.equal(kind, "untrustedCertificate");
    assert.equal(await s.textOf('[data-testid="certificate-sha256"]'), tls.sha256, "the fingerprint is shown");
    assert.match(await s.textOf('[data-testid="certificate"]'), /self-signed/);
    assert.deepEqual((await s.invoke("list_remotes")).ok, [], "nothing saved before it is trusted");
    await app.screenshots("certificate-shown");

    await s.click('[data-testid="trust-certificate"]');
    await waitFor("the saved server", () => s.textOf('[data-testid="form-ok"]'));
    const [remote] = (await s.invoke("list_remotes")).ok;
    assert.equal(remote.pinnedSha256, tls.sha256);

    // The pairing form browses the server: into Shared and back to the top, which is paired.
    await waitFor("the server's folders", () => s.textOf('[data-testid="browse-folder"]'));
    await app.screenshots("server-browser");
    await s.click('[data-testid="browse-folder"]');
    await waitFor("Shared chosen", async () =>
      /Pairs with \/Shared\./.test((await s.textOf('[data-testid="browse-chosen"]')) ?? ""));
    await s.click('[data-testid="browse-crumb"]');
    await waitFor("the top chosen", async () =>
      /the whole server/.test((await s.textOf('[data-testid="browse-chosen"]')) ?? ""));

    await s.type('[data-testid="pair-folder-name"]', "NAS");
    await s.click('[data-testid="pair-mode-download"]');
    await s.click('[data-testid="pair-submit"]');
    await s.click('[data-testid="tab-sync"]');
    const local = await waitFor("the pair", () => s.textOf('[data-testid="pair-local"]'));
    await s.click('[data-testid="sync-pair"]');
    await waitFor("the completed sync", async () => (await jobState(app)) === "completed", 60_000);
    assert.equal(await readFile(path.join(local, "hello.txt"), "utf8"), "over TLS, trusted by fingerprint");
    await app.screenshots("certificate-trusted-synced");
    await app?.close();
    app = null;
    server.stop();
    server = null;
    await rm(served, { recursive: true, force: true });
    served = null;
  });

  test("a wrong password shows an authentication error and saves nothing", async () => {
    served = await mkdtemp(path.join(os.tmpdir(), "tidesync-e2e-rclone-"));
    server = await rclone(served, "alice", "right horse");
    app = await App.launch(binary);
    const s = app.session;
    await waitFor("the first-run screen", () => s.textOf('[data-testid="add-server"]'));
    await s.click('[data-testid="add-server"]');
    await s.type('[data-testid="remote-url"]', server.url);
    await s.type('[data-testid="remote-user"]', "alice");
    await s.type('[data-testid="remote-password"]', "wrong");
    await s.click('[data-testid="remote-submit"]');
    const kind = await waitFor("the error", () => s.attribute('[data-testid="form-error"]', "data-kind"));
    assert.equal(kind, "auth");
    assert.match(await s.textOf('[data-testid="form-error"]'), /user name or password/);
    await app.screenshots("wrong-password");
    assert.deepEqual((await s.invoke("list_remotes")).ok, [], "nothing was saved");
  });
});
