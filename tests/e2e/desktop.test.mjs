// The desktop app between launches and without its window: the window comes back as large as
// the user left it; closed, the window hides and automatic sync goes on, and a second launch
// brings the first one's window back instead of starting a second engine; Quit mid-download
// leaves a checkpoint the next start resumes; starting at login is offered once and writes the
// login entry that starts Tidesync in the tray.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { assertMirrors, DEMO_RATE, demoContent, JOB, startDemoSync, untilBytes, untilState } from "./demo.mjs";
import { App, buildApp } from "./harness.mjs";
import { waitFor } from "./webdriver.mjs";

let binary;
let app;

before(() => {
  binary = buildApp();
}, { timeout: 900_000 });

after(async () => {
  await app?.close();
});

test("the window comes back as large as it was", { timeout: 300_000 }, async () => {
  app = await App.launch(binary);
  await app.session.setWindowRect(900, 700);
  await waitFor("the window to be 900x700", async () => {
    const rect = await app.session.windowRect();
    return rect.width === 900 && rect.height === 700;
  });
  // Quit as the tray's Quit does: the app keeps the window's state on its way out.
  await app.quit();
  const home = await app.close({ keepHome: true });
  app = await App.launch(binary, {}, home);
  const rect = await waitFor("the window's size after the restart", async () => {
    const shown = await app.session.windowRect();
    return shown.width === 900 && shown.height === 700 ? shown : null;
  });
  assert.deepEqual([rect.width, rect.height], [900, 700]);
  await app.close();
  app = undefined;
});

test("closed, the window hides and syncing goes on; a second launch shows it again", { timeout: 300_000 }, async () => {
  app = await App.launch(binary);
  const s = app.session;
  const local = await startDemoSync(app);
  await untilState(app, "completed");
  // Both ways and automatic, as a person would set it in the pair's settings.
  const [pair] = (await s.invoke("list_pairs")).ok;
  const saved = await s.invoke("update_pair", {
    id: pair.id,
    mode: "twoWay",
    settings: { ...pair.settings, autoSync: true },
  });
  assert.equal(saved.error, undefined, JSON.stringify(saved.error));
  await waitFor("the watcher", async () => /watching for changes/.test((await s.textOf('[data-testid="pair-status"]')) ?? ""), 30_000);
  assert.equal(await app.visibility(), "visible");

  // The close button's request, as WebKit has no title bar under Xvfb to click.
  await s.invoke("plugin:window|close", { label: "main" });
  await waitFor("the window to hide", async () => (await app.visibility()) === "hidden");
  const settings = path.join(app.home, "data", "app.tidesync", "settings.json");
  assert.equal(JSON.parse(await readFile(settings, "utf8")).toldAboutTray, true, "the first close told where it went");

  await writeFile(path.join(local, "written-while-closed.txt"), "synced with no window");
  const arrived = await waitFor("the file on the demo server", () =>
    readFile(path.join(demoContent(app), "written-while-closed.txt"), "utf8").catch(() => null), 60_000);
  assert.equal(arrived, "synced with no window");

  // A second launch hands over to this one and ends; this one shows its window.
  assert.equal(await app.launchAgain(), 0, "the second launch ended by itself");
  await waitFor("the window to show again", async () => (await app.visibility()) === "visible");
  assert.equal((await s.invoke("list_jobs")).ok.some((job) => job.state === "completed"), true, "the same app, its jobs");
  await app.close();
  app = undefined;
});

test("Quit mid-download leaves a checkpoint, and the next start resumes the same sync", { timeout: 300_000 }, async () => {
  app = await App.launch(binary, { TIDESYNC_DEMO_RATE: DEMO_RATE });
  const local = await startDemoSync(app);
  const job = await app.session.attribute(JOB, "data-job-id");
  await untilBytes(app, 5_000_000);
  await app.quit();
  const home = await app.close({ keepHome: true });

  app = await App.launch(binary, {}, home);
  await waitFor("the same sync, resumed", async () => (await app.session.attribute(JOB, "data-job-id")) === job, 60_000);
  await untilState(app, "completed", 120_000);
  const [record] = (await app.session.invoke("job_history")).ok.filter((r) => String(r.id) === job);
  assert.equal(record.state, "completed", JSON.stringify(record));
  await assertMirrors(app, local);
  await app.close();
  app = undefined;
});

test("starting at login is offered once and writes the login entry", { timeout: 300_000 }, async () => {
  app = await App.launch(binary);
  const s = app.session;
  await startDemoSync(app);
  await untilState(app, "completed");
  await waitFor("the offer", () => s.textOf('[data-testid="start-at-login-offer"]'), 30_000);
  await s.click('[data-testid="start-at-login-yes"]');
  await waitFor("the offer to go", async () => {
    const alert = await s.textOf(`[data-testid="start-at-login-offer"] [role="alert"]`);
    if (alert) throw new Error(`starting at login failed: ${alert}`);
    return (await s.textOf(`[data-testid="start-at-login-offer"]`)) === null;
  });
  const entry = await readFile(path.join(app.home, ".config", "autostart", "Tidesync.desktop"), "utf8");
  assert.match(entry, /^Exec=.*tidesync-app.* --hidden$/m, entry);

  await app.quit();
  const home = await app.close({ keepHome: true });
  app = await App.launch(binary, {}, home);
  await app.session.click('[data-testid="tab-about"]');
  await waitFor("the switch", async () => (await app.session.attribute('[data-testid="start-at-login"]', "checked")) !== null);
  await app.session.click('[data-testid="tab-sync"]');
  await waitFor("the pair", () => app.session.textOf('[data-testid="pair-local"]'));
  assert.equal(await app.session.textOf('[data-testid="start-at-login-offer"]'), null, "asked once");

  // As the login entry starts it: in the tray, the window hidden, the engine working.
  await app.quit();
  await app.close({ keepHome: true });
  app = await App.launch(binary, {}, home, ["--hidden"]);
  assert.equal(await app.visibility(), "hidden");
  await waitFor("the engine", async () => (await app.session.invoke("list_pairs")).ok?.length === 1);
  assert.equal(await app.visibility(), "hidden", "still in the tray only");
});
