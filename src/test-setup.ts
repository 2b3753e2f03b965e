import "@testing-library/jest-dom/vitest";
import { afterEach } from "vitest";
import { clearMocks } from "./lib/ipc/testing";

afterEach(() => {
  clearMocks();
});
