import { expect, test } from "vitest";
import { render, screen } from "@testing-library/svelte";
import App from "./App.svelte";
import { mockIPC } from "./lib/ipc/testing";

test("the first screen shows what app_info returns", async () => {
  mockIPC((cmd) => {
    if (cmd === "app_info") {
      return { version: "9.8.7", platform: "android", arch: "aarch64", dataDir: "/data/user/0/app.tidesync" };
    }
  });

  render(App);

  expect(await screen.findByText("9.8.7")).toBeInTheDocument();
  expect(screen.getByTestId("platform")).toHaveTextContent("android (aarch64)");
  expect(screen.getByTestId("data-dir")).toHaveTextContent("/data/user/0/app.tidesync");
});

test("a failed app_info shows its message as an alert", async () => {
  mockIPC(() => {
    throw { kind: "storage", message: "the app data directory could not be resolved" };
  });

  render(App);

  const alert = await screen.findByRole("alert");
  expect(alert).toHaveTextContent("the app data directory could not be resolved");
  expect(alert).toHaveAttribute("data-kind", "storage");
});
