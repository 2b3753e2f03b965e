// Smoke test of the real desktop app in a real WebKit view: it boots, the UI calls app_info
// through real IPC, and the version the workspace declares is on the screen.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { App, buildApp, workspaceVersion } from "./harness.mjs";
import { waitFor } from "./webdriver.mjs";

let app;

before(async () => {
  app = await App.launch(buildApp());
}, { timeout: 900_000 });

after(async () => {
  await app?.close();
});

test("the about screen shows the version, platform and data folder from app_info", async () => {
  const version = workspaceVersion();
  await waitFor("the screens", () => app.session.textOf('[data-testid="tab-about"]'));
  await app.session.click('[data-testid="tab-about"]');
  const shown = await waitFor("the version on screen", async () => {
    const text = await app.session.textOf('[data-testid="version"]');
    return text && text !== "…" ? text : null;
  });
  assert.equal(shown, version);
  assert.equal(await app.session.textOf('[data-testid="platform"]'), `linux (${process.arch === "x64" ? "x86_64" : process.arch})`);
  const dataDir = await app.session.textOf('[data-testid="data-dir"]');
  assert.match(dataDir, /tidesync-e2e-.*\/data\/app\.tidesync$/);
  await app.screenshots("smoke");
});
