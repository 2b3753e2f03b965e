import { describe, expect, test } from "vitest";
import { appInfo, CommandError } from "./index";
import { mockIPC } from "./testing";

const INFO = { version: "1.2.3", platform: "linux", arch: "x86_64", dataDir: "/data/app.tidesync" };

describe("ipc wrapper", () => {
  test("appInfo invokes app_info and returns its DTO", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "app_info") return INFO;
      throw new Error(`unexpected command ${cmd}`);
    });

    await expect(appInfo()).resolves.toEqual(INFO);
    expect(calls).toEqual(["app_info"]);
  });

  test("a command's { kind, message } rejection becomes a CommandError of that kind", async () => {
    mockIPC(() => {
      throw { kind: "storage", message: "the app data directory could not be resolved" };
    });

    const error = await appInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ kind: "storage", message: "the app data directory could not be resolved" });
  });

  test("a plain string rejection from Tauri becomes an internal CommandError", async () => {
    mockIPC(() => {
      throw "app_info not allowed";
    });

    const error = await appInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ kind: "internal", message: "app_info not allowed" });
  });
});
