// The desktop app between launches: the window comes back as large as the user left it.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { App, buildApp } from "./harness.mjs";
import { waitFor } from "./webdriver.mjs";

let app;

after(async () => {
  await app?.close();
});

test("the window comes back as large as it was", { timeout: 900_000 }, async () => {
  const binary = buildApp();
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
});
