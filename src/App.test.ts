import { afterEach, expect, test, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import App from "./App.svelte";
import JobCard from "./components/JobCard.svelte";
import { JobsState, JobView } from "./lib/jobs.svelte";
import { clearMocks, mockIPC } from "./lib/ipc/testing";
import type { JobSnapshotDto } from "$gen/ipc/JobSnapshotDto";
import type { SummaryDto } from "$gen/ipc/SummaryDto";

const INFO = { version: "9.8.7", platform: "android", arch: "aarch64", dataDir: "/data/user/0/app.tidesync" };

/** A backend with no remotes yet; `overrides` answer specific commands. */
function backend(overrides: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  mockIPC(
    (cmd, args) => {
      if (overrides[cmd]) return overrides[cmd](args as Record<string, unknown>);
      switch (cmd) {
        case "app_info":
          return INFO;
        case "list_remotes":
        case "list_pairs":
        case "list_jobs":
        case "job_history":
        case "list_trash":
          return [];
        case "refused_deletes":
          return null;
        case "start_at_login":
          return { available: false, enabled: false, offer: false };
        case "default_excludes":
          return [
            { pattern: ".DS_Store", what: "macOS folder view settings" },
            { pattern: "*.part", what: "partial downloads" },
          ];
        case "preview_excludes":
          return { files: 0, folders: 0, bytes: 0 };
        case "browse_server":
          return [];
        default:
          throw new Error(`unexpected ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
}

// Unmount first: the views stop listening while the mocked IPC still exists.
afterEach(() => {
  cleanup();
  clearMocks();
});

test("the first run offers the demo remote and adding a server", async () => {
  backend();
  render(App);
  expect(await screen.findByRole("button", { name: "Try the demo remote" })).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Add your server" })).toBeInTheDocument();
});

test("the about screen shows what app_info returns", async () => {
  backend();
  render(App);
  await fireEvent.click(await screen.findByRole("button", { name: "About" }));
  expect(await screen.findByText("9.8.7")).toBeInTheDocument();
  expect(screen.getByTestId("platform")).toHaveTextContent("android (aarch64)");
});

test("a refused login shows its message once, with its kind", async () => {
  backend({
    add_remote: () => {
      throw { kind: "auth", message: "The server refused the user name or password. Check both and try again." };
    },
  });
  render(App);
  await fireEvent.click(await screen.findByRole("button", { name: "Add your server" }));
  await fireEvent.input(screen.getByTestId("remote-url"), { target: { value: "https://cloud.example/dav/" } });
  await fireEvent.input(screen.getByTestId("remote-user"), { target: { value: "alice" } });
  await fireEvent.input(screen.getByTestId("remote-password"), { target: { value: "wrong" } });
  await fireEvent.submit(screen.getByTestId("remote-form"));
  const alert = await screen.findByTestId("form-error");
  expect(alert).toHaveAttribute("data-kind", "auth");
  expect(alert).toHaveTextContent("refused the user name or password");
  expect(alert.textContent?.match(/check/gi)?.length).toBe(1);
});

test("a refused certificate is shown and, once trusted, sent back by its fingerprint", async () => {
  const sha256 = "AB:CD:".repeat(15) + "AB:CD";
  const certificate = {
    sha256,
    subject: "CN=nas.home",
    issuer: "CN=nas.home",
    notBefore: 1_700_000_000,
    notAfter: 1_900_000_000,
    selfSigned: true,
  };
  const calls: Record<string, unknown>[] = [];
  backend({
    add_remote: (args) => {
      calls.push(args);
      if (!args.pinSha256) {
        throw { kind: "untrustedCertificate", message: "The server's certificate is not trusted.", certificate };
      }
      return { id: 1, name: "nas", url: "https://nas.home/dav/", user: null, serverKind: null, pinnedSha256: sha256 };
    },
  });
  render(App);
  await fireEvent.click(await screen.findByRole("button", { name: "Add your server" }));
  await fireEvent.input(screen.getByTestId("remote-url"), { target: { value: "https://nas.home/dav/" } });
  await fireEvent.submit(screen.getByTestId("remote-form"));
  expect(await screen.findByTestId("certificate-sha256")).toHaveTextContent(sha256);
  expect(screen.getByTestId("certificate")).toHaveTextContent("itself (self-signed)");
  expect(screen.getByTestId("form-error")).toHaveAttribute("data-kind", "untrustedCertificate");
  await fireEvent.click(screen.getByTestId("trust-certificate"));
  expect(await screen.findByTestId("form-ok")).toBeInTheDocument();
  expect(calls).toHaveLength(2);
  expect(calls[0].pinSha256).toBeUndefined();
  expect(calls[1].pinSha256).toBe(sha256);
});

function snapshot(overrides: Partial<JobSnapshotDto> = {}): JobSnapshotDto {
  return {
    jobId: 4,
    pairId: 1,
    state: "running",
    phase: "transferring",
    filesTotal: 10,
    filesDone: 3,
    bytesTotal: 4_000_000,
    bytesDone: 2_000_000,
    rate: 1_000_000,
    etaSecs: 2,
    inFlight: [{ path: "photos/big.jpg", bytesDone: 100, bytesTotal: 400 }],
    errors: 0,
    droppedEvents: 0,
    seq: 5,
    ...overrides,
  };
}

test("a job card draws everything from the snapshot", async () => {
  backend();
  const view = new JobView(snapshot());
  render(JobCard, { view, jobs: new JobsState(), title: "Demo remote" });
  expect(screen.getByTestId("job-state")).toHaveTextContent("Running · Transferring");
  expect(screen.getByRole("progressbar", { name: "Overall progress" })).toHaveAttribute("aria-valuenow", "50");
  expect(screen.getByTestId("job-bytes")).toHaveTextContent("2.0 MB of 4.0 MB");
  expect(screen.getByText("photos/big.jpg")).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Pause" })).toBeEnabled();
});

test("files failing while a job runs are listed once each, however often they fail", async () => {
  backend();
  const view = new JobView(snapshot());
  render(JobCard, { view, jobs: new JobsState(), title: "Demo remote" });
  for (let pass = 0; pass < 3; pass++) {
    view.apply({ type: "fileFailed", path: "locked.docx", message: `423 Locked (pass ${pass})` });
  }
  view.apply({ type: "fileFailed", path: "other.txt", message: "gone" });
  const listed = await screen.findByTestId("job-failures");
  expect(listed).toHaveTextContent("2 files failed so far");
  expect(listed).toHaveTextContent("locked.docx: 423 Locked (pass 2)");
});

test("an older snapshot never overwrites a newer one, and the end shows what changed", async () => {
  backend();
  const view = new JobView(snapshot());
  render(JobCard, { view, jobs: new JobsState(), title: "Demo remote" });
  view.apply({ type: "snapshot", snapshot: snapshot({ seq: 3, bytesDone: 0 }) });
  expect(view.snapshot.bytesDone).toBe(2_000_000);
  view.apply({ type: "stateChanged", state: "completed" });
  view.apply({
    type: "finished",
    summary: {
      filesDownloaded: 9,
      filesUploaded: 0,
      bytesDownloaded: 4_000_000,
      bytesUploaded: 0,
      conflicts: 0,
      deletedLocal: 0,
      deletedRemote: 0,
      moved: 0,
      createdRemoteRoot: false,
      filesVerified: 8,
      errors: [{ path: "bad.txt", message: "the server's checksum does not match; it will be fetched again" }],
      skipped: [{ path: "Music", message: "not synced: symbolic links are not followed" }],
      renamedLocally: [{ path: "Docs/Note.txt", message: "synced as `Docs/Note (case conflict).txt`" }],
      deletedRemoteToTrash: true,
      withoutValidators: true,
      filesCompared: 3,
      ignored: 4,
      waiting: [],
      unsettled: true,
      waitsForChange: [],
    },
  });
  expect(await screen.findByTestId("summary")).toHaveTextContent("9 downloaded");
  expect(screen.getByTestId("ignored")).toHaveTextContent("4 items were left out");
  expect(screen.getByTestId("unsettled")).toHaveTextContent("what is left goes with the next sync");
  expect(screen.getByTestId("skipped")).toHaveTextContent("1 item left alone");
  expect(screen.getByTestId("without-validators")).toHaveTextContent("3 compared this time");
  expect(screen.getByTestId("skipped")).toHaveTextContent("Music: not synced: symbolic links are not followed");
  expect(screen.getByTestId("renamed-locally")).toHaveTextContent("1 server file kept under another name here");
  expect(screen.getByTestId("deleted-remote-to-trash")).toHaveTextContent("in the server's trash bin");
  expect(screen.getByTestId("renamed-locally")).toHaveTextContent("Docs/Note.txt: synced as");
  expect(screen.getByTestId("files-verified")).toHaveTextContent("8 files were checked against the server's checksum");
  expect(screen.getByText(/checksum does not match/)).toBeInTheDocument();
  expect(screen.getByTestId("job-state")).toHaveTextContent("Completed");
  expect(screen.queryByRole("button", { name: "Pause" })).not.toBeInTheDocument();
});

test("a failed job shows its error with its kind", async () => {
  backend();
  const view = new JobView(snapshot({ state: "failed" }));
  view.apply({ type: "failed", error: { kind: "network", message: "The server could not be reached." } });
  render(JobCard, { view, jobs: new JobsState(), title: "Demo remote" });
  const alert = screen.getByTestId("job-error");
  expect(alert).toHaveAttribute("data-kind", "network");
  expect(alert).toHaveTextContent("could not be reached");
});

test("editing a server sends its id and keeps the password when none is typed", async () => {
  const remote = { id: 3, name: "Cloud", url: "https://cloud.example/dav/", user: "alice", serverKind: "Nextcloud" };
  const updates: Record<string, unknown>[] = [];
  backend({
    list_remotes: () => [remote],
    update_remote: (args) => {
      updates.push(args);
      return { ...remote, name: args.name };
    },
  });
  render(App);
  await fireEvent.click(await screen.findByRole("button", { name: "Servers" }));
  await fireEvent.click(await screen.findByTestId("edit-remote"));
  expect(screen.getByTestId("remote-url")).toHaveValue("https://cloud.example/dav/");
  await fireEvent.input(screen.getByTestId("remote-name"), { target: { value: "Work" } });
  await fireEvent.submit(screen.getByTestId("remote-form"));
  expect(await screen.findByTestId("form-ok")).toHaveTextContent("Connected to Nextcloud.");
  expect(updates).toEqual([
    { id: 3, name: "Work", url: "https://cloud.example/dav/", user: "alice", password: null },
  ]);
});

/** A finished sync's summary: nothing done, but for `fields`. */
function summary(fields: Partial<SummaryDto>): SummaryDto {
  return {
    filesDownloaded: 0,
    filesUploaded: 0,
    bytesDownloaded: 0,
    bytesUploaded: 0,
    conflicts: 0,
    deletedLocal: 0,
    deletedRemote: 0,
    moved: 0,
    createdRemoteRoot: false,
    filesVerified: 0,
    errors: [],
    skipped: [],
    renamedLocally: [],
    deletedRemoteToTrash: false,
    withoutValidators: false,
    filesCompared: 0,
    ignored: 0,
    waiting: [],
    unsettled: false,
    waitsForChange: [],
    ...fields,
  };
}

const REMOTE = { id: 1, name: "Demo", url: "http://127.0.0.1:9/", user: null, serverKind: null, isDemo: true, pinnedSha256: null };
const SETTINGS = {
  autoSync: false,
  checkEverySecs: 300,
  transfers: null,
  uploadLimit: 0,
  downloadLimit: 0,
  trashDays: null,
  trashBytes: null,
  serverBackup: null,
  excludes: { patterns: [], defaultsOff: [], maxSize: null, removeWithFolder: false, unsynced: [], askAbove: null },
};
const PAIR = {
  id: 7,
  remoteId: 1,
  remotePath: "",
  localDir: "/data/Demo",
  mode: "download",
  settings: SETTINGS,
  auto: null,
  lastSyncedAt: null,
};

test("the settings sheet saves a pair's mode and automatic sync, warning before a mode that deletes", async () => {
  const saved: Record<string, unknown>[] = [];
  let pair: Record<string, unknown> = PAIR;
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [pair],
    list_conflicts: () => [],
    update_pair: (args) => {
      saved.push(args);
      if ((args.settings as { transfers: number | null }).transfers === 0) {
        throw { kind: "invalidInput", message: "a pair transfers 1 to 128 files at once; 0 is out of range" };
      }
      pair = { ...PAIR, mode: args.mode, settings: args.settings };
      return pair;
    },
  });
  render(App);
  await fireEvent.click(await screen.findByTestId("pair-settings-open"));
  await fireEvent.click(screen.getByTestId("settings-mode-twoWay"));
  expect(screen.getByTestId("mode-warning")).toHaveTextContent("delete it on the server too");
  await fireEvent.click(screen.getByTestId("settings-auto"));
  await fireEvent.change(screen.getByTestId("settings-interval"), { target: { value: "900" } });
  await fireEvent.input(screen.getByTestId("settings-transfers"), { target: { value: "0" } });
  await fireEvent.input(screen.getByTestId("settings-download"), { target: { value: "250" } });
  await fireEvent.input(screen.getByTestId("settings-trash-days"), { target: { value: "7" } });
  await fireEvent.input(screen.getByTestId("settings-server-backup"), { target: { value: "Removed" } });
  await fireEvent.click(screen.getByTestId("settings-save"));
  expect(await screen.findByTestId("settings-error")).toHaveTextContent("1 to 128 files");

  await fireEvent.input(screen.getByTestId("settings-transfers"), { target: { value: "" } });
  await fireEvent.click(screen.getByTestId("settings-save"));
  await screen.findByTestId("pair-auto");
  expect(saved.at(-1)).toEqual({
    id: 7,
    mode: "twoWay",
    settings: {
      autoSync: true,
      checkEverySecs: 900,
      transfers: null,
      uploadLimit: 0,
      downloadLimit: 250_000,
      trashDays: 7,
      trashBytes: null,
      serverBackup: "Removed",
      excludes: SETTINGS.excludes,
    },
  });
  expect(screen.queryByTestId("pair-settings")).toBeNull();
});

test("the settings sheet edits what to leave out, with a live preview that points at a bad pattern", async () => {
  const saved: Record<string, unknown>[] = [];
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [PAIR],
    list_conflicts: () => [],
    preview_excludes: (args) => {
      const patterns = (args.excludes as { patterns: string[] }).patterns;
      if (patterns.includes("[oops")) {
        throw { kind: "invalidInput", message: 'a pattern of what to leave out: line 2, "[oops": unclosed character class' };
      }
      return { files: patterns.length * 3, folders: 1, bytes: 2_500_000 };
    },
    update_pair: (args) => {
      saved.push(args);
      return { ...PAIR, settings: args.settings };
    },
  });
  render(App);
  await fireEvent.click(await screen.findByTestId("pair-settings-open"));
  const defaults = await screen.findAllByTestId("excludes-default");
  expect(defaults.map((d) => d.getAttribute("data-pattern"))).toEqual([".DS_Store", "*.part"]);
  expect(defaults.every((d) => (d as HTMLInputElement).checked)).toBe(true);

  await fireEvent.input(screen.getByTestId("excludes-patterns"), { target: { value: "*.log\n[oops" } });
  await waitFor(() => expect(screen.getByTestId("excludes-preview")).toHaveTextContent('line 2, "[oops"'));
  expect(screen.getByTestId("excludes-patterns")).toHaveAttribute("aria-invalid", "true");

  await fireEvent.input(screen.getByTestId("excludes-patterns"), { target: { value: "*.log\n\nbuild/" } });
  await waitFor(() =>
    expect(screen.getByTestId("excludes-preview")).toHaveTextContent("Leaves out 6 files (2.5 MB) and 1 folder"),
  );
  await fireEvent.click(defaults[1]);
  await fireEvent.input(screen.getByTestId("excludes-max-mb"), { target: { value: "500" } });
  await fireEvent.click(screen.getByTestId("excludes-remove-with-folder"));
  await fireEvent.click(screen.getByTestId("settings-save"));
  await waitFor(() => expect(saved).toHaveLength(1));
  expect((saved[0].settings as { excludes: unknown }).excludes).toEqual({
    patterns: ["*.log", "build/"],
    defaultsOff: ["*.part"],
    maxSize: 500_000_000,
    removeWithFolder: true,
    unsynced: [],
    askAbove: null,
  });
});

test("choosing what to sync saves the folders switched off, then lets go or keeps each copy here", async () => {
  const saved: Record<string, unknown>[] = [];
  const letGo: unknown[] = [];
  const folder = (path: string, size: number | null) => ({
    name: path.split("/").pop(),
    path,
    isDir: true,
    size,
  });
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [PAIR],
    list_conflicts: () => [],
    browse_server: (args) =>
      args.path === ""
        ? [folder("Docs", 1_200_000), folder("Photos", null), { name: "a.txt", path: "a.txt", isDir: false, size: 3 }]
        : args.path === "Photos"
          ? [folder("Photos/2019", 5_000)]
          : [],
    update_pair: (args) => {
      saved.push(args);
      return { ...PAIR, settings: args.settings };
    },
    let_go_folder: (args) => {
      letGo.push(args);
      return 4;
    },
  });
  render(App);
  await fireEvent.click(await screen.findByTestId("pair-settings-open"));
  const top = await screen.findAllByTestId("choice-folder");
  expect(top.map((f) => f.getAttribute("data-path"))).toEqual(["Docs", "Photos"]);
  expect(top[0]).toHaveTextContent("1.2 MB");
  await fireEvent.click(top[0].querySelector('[data-testid="choice-sync"]')!);
  await fireEvent.click(screen.getByRole("button", { name: "Open Photos" }));
  await waitFor(() => expect(screen.getAllByTestId("choice-folder")).toHaveLength(3));
  const year = screen.getAllByTestId("choice-folder")[2];
  expect(year.getAttribute("data-path")).toBe("Photos/2019");
  await fireEvent.click(year.querySelector('[data-testid="choice-sync"]')!);
  await fireEvent.click(screen.getByTestId("settings-save"));
  await waitFor(() => expect(saved).toHaveLength(1));
  expect((saved[0].settings as { excludes: { unsynced: string[] } }).excludes.unsynced).toEqual(["Docs", "Photos/2019"]);

  const questions = await screen.findAllByTestId("let-go-question");
  expect(questions[0]).toHaveTextContent("Docs is no longer synced");
  await fireEvent.click(questions[0].querySelector('[data-testid="let-go"]')!);
  await waitFor(() => expect(letGo).toEqual([{ pairId: 7, folder: "Docs" }]));
  await waitFor(() => expect(screen.getAllByTestId("let-go-question")).toHaveLength(1));
  expect(screen.getByTestId("let-go-question")).toHaveTextContent("Photos/2019 is no longer synced");
  await fireEvent.click(screen.getByTestId("keep-unsynced"));
  await waitFor(() => expect(screen.queryByTestId("pair-settings")).toBeNull());
  expect(letGo).toHaveLength(1);
});

test("the pairing form browses the server, makes a folder there, and pairs with it", async () => {
  const made: unknown[] = [];
  const added: Record<string, unknown>[] = [];
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [],
    list_conflicts: () => [],
    browse_server: (args) =>
      args.path === ""
        ? [
            { name: "Photos", path: "Photos", isDir: true, size: 2_000_000 },
            { name: "notes.txt", path: "notes.txt", isDir: false, size: 10 },
          ]
        : [],
    make_server_folder: (args) => {
      made.push(args);
      return null;
    },
    add_pair: (args) => {
      added.push(args);
      return { ...PAIR, remotePath: args.remotePath };
    },
  });
  render(App);
  await fireEvent.click(await screen.findByRole("button", { name: "Servers" }));
  const photos = await screen.findByRole("button", { name: "Open Photos, 2.0 MB" });
  expect(screen.getByTestId("browse-status")).toHaveTextContent("1 folder, 1 file");
  await fireEvent.click(photos);
  await waitFor(() => expect(screen.getByTestId("browse-chosen")).toHaveTextContent("Pairs with /Photos."));
  expect(screen.getAllByTestId("browse-crumb").map((c) => c.textContent)).toEqual(["Server", "Photos"]);
  await fireEvent.input(screen.getByTestId("browse-new-name"), { target: { value: "2027" } });
  await fireEvent.click(screen.getByTestId("browse-new"));
  await waitFor(() => expect(screen.getByTestId("browse-chosen")).toHaveTextContent("Pairs with /Photos/2027."));
  expect(made).toEqual([{ remoteId: 1, path: "Photos/2027" }]);
  await fireEvent.click(screen.getAllByTestId("browse-crumb")[0]);
  await waitFor(() => expect(screen.getByTestId("browse-chosen")).toHaveTextContent("the whole server"));
  await fireEvent.click(screen.getByRole("button", { name: "Open Photos, 2.0 MB" }));
  await fireEvent.input(screen.getByTestId("pair-folder-name"), { target: { value: "Pictures" } });
  await fireEvent.click(screen.getByTestId("pair-submit"));
  await waitFor(() => expect(added).toHaveLength(1));
  expect(added[0].remotePath).toBe("Photos");
});

test("a large new server folder waits on the pair's card until the user answers", async () => {
  const answers: unknown[] = [];
  const record = (waiting: { path: string; bytes: number }[]) => ({
    id: 4,
    pairId: 7,
    state: "completed",
    startedAt: 1_796_117_400,
    endedAt: 1_796_117_460,
    summary: summary({ waiting }),
    error: null,
  });
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [PAIR],
    list_conflicts: () => [],
    job_history: () => [record([
      { path: "Videos", bytes: 1_240_000_000 },
      { path: "Backups", bytes: 900_000_000 },
    ])],
    answer_new_folder: (args) => {
      answers.push(args);
      return args.sync ? 9 : null;
    },
  });
  render(App);
  const waiting = await screen.findAllByTestId("waiting-folder");
  expect(waiting[0]).toHaveTextContent("Videos (1.2 GB) is new on the server");
  await fireEvent.click(waiting[0].querySelector('[data-testid="waiting-sync"]')!);
  await waitFor(() => expect(screen.getAllByTestId("waiting-folder")).toHaveLength(1));
  await fireEvent.click(screen.getByTestId("waiting-leave"));
  await waitFor(() => expect(screen.queryByTestId("waiting-folder")).toBeNull());
  expect(answers).toEqual([
    { pairId: 7, path: "Videos", sync: true },
    { pairId: 7, path: "Backups", sync: false },
  ]);
});

test("a file that failed says when automatic sync tries it again", async () => {
  const now = Math.floor(Date.now() / 1000);
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [{ ...PAIR, settings: { ...SETTINGS, autoSync: true } }],
    list_conflicts: () => [],
    job_history: () => [
      {
        id: 5,
        pairId: 7,
        state: "completed",
        startedAt: now - 60,
        endedAt: now - 50,
        summary: summary({
          errors: [
            { path: "report.docx", message: "423 Locked: the file is locked on the server" },
            { path: "CON.txt", message: "a name Windows does not allow" },
          ],
        }),
        error: null,
      },
    ],
    list_failures: () => [
      { path: "CON.txt", message: "a name Windows does not allow", attempts: 3, retryAt: null },
      { path: "report.docx", message: "423 Locked", attempts: 2, retryAt: now + 240 },
    ],
  });
  render(App);
  const listed = await screen.findAllByTestId("pair-error");
  await waitFor(() => expect(listed[0]).toHaveTextContent("report.docx: 423 Locked: the file is locked on the server (retrying in 4 min)"));
  expect(listed[1]).toHaveTextContent("CON.txt: a name Windows does not allow (waits until it changes)");
});

test("a pair lists what its last sync left out, and why", async () => {
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [PAIR],
    list_conflicts: () => [],
    job_history: () => [
      {
        id: 3,
        pairId: 7,
        state: "completed",
        startedAt: 1_796_117_400,
        endedAt: 1_796_117_460,
        summary: summary({ filesDownloaded: 1, bytesDownloaded: 10, ignored: 2 }),
        error: null,
      },
    ],
    list_ignored: () => [
      { path: ".git", isDir: true, size: 0, side: "here", why: "matches .git/" },
      { path: "big.iso", isDir: false, size: 4_000_000_000, side: "server", why: "larger than 1000000000 bytes" },
    ],
  });
  render(App);
  const details = await screen.findByTestId("left-out");
  expect(details).toHaveTextContent("2 items left out last time");
  details.setAttribute("open", "");
  await fireEvent(details, new Event("toggle"));
  const items = await screen.findAllByTestId("left-out-item");
  expect(items[0]).toHaveTextContent(".git/ on this device: matches .git/");
  expect(items[1]).toHaveTextContent("big.iso on the server, 4.0 GB: larger than 1000000000 bytes");
});

test("a pair says when it last synced and when the server is checked next", async () => {
  const now = Math.floor(Date.now() / 1000);
  const auto = { watching: true, nextCheckAt: now + 12 * 60 + 20, serverCheck: "listing", error: null };
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [{ ...PAIR, settings: { ...SETTINGS, autoSync: true }, auto, lastSyncedAt: now - 185 }],
    list_conflicts: () => [],
  });
  render(App);
  expect(await screen.findByTestId("pair-status")).toHaveTextContent(
    "Last synced 3 min ago · watching for changes · next check in 12 min",
  );
});

test("conflict copies are listed with what they are copies of", async () => {
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [PAIR],
    list_conflicts: () => [
      { pairId: 7, path: "notes/plan (conflict 2026-12-01 093000).txt", original: "notes/plan.txt", foundAt: 1_796_117_400 },
    ],
  });
  render(App);
  const conflict = await screen.findByTestId("conflict");
  expect(conflict).toHaveTextContent("plan (conflict 2026-12-01 093000).txt");
  expect(conflict).toHaveTextContent("This device's version of notes/plan.txt in Demo");
  // A phone has no file manager to show it in.
  expect(screen.queryByTestId("conflict-reveal")).toBeNull();
});

test("recently removed files are listed, found by search, restored and emptied", async () => {
  let trash = [
    { pairId: 7, id: "1796117400-deleted-0a1b2c3d", path: "Photos/a.jpg", size: 2_400_000, removedAt: 1_796_117_400, why: "deletedOnServer" },
    { pairId: 7, id: "1796117000-replaced-1a2b3c4d", path: "notes.txt", size: 120, removedAt: 1_796_117_000, why: "replacedByServer" },
  ];
  const calls: string[] = [];
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [PAIR],
    list_conflicts: () => [],
    list_trash: () => trash,
    restore_trashed: (args) => {
      calls.push(`restore ${args.pairId} ${args.id}`);
      trash = trash.filter((entry) => entry.id !== args.id);
      return "notes (restored).txt";
    },
    empty_trash: (args) => {
      calls.push(`empty ${args.pairId}`);
      const gone = trash.length;
      trash = [];
      return gone;
    },
  });
  render(App);
  const entries = await screen.findAllByTestId("removed-entry");
  expect(entries).toHaveLength(2);
  expect(entries[0]).toHaveTextContent("Photos/a.jpg");
  expect(entries[0]).toHaveTextContent("In Demo: deleted on the server");
  expect(entries[0]).toHaveTextContent("2.4 MB");
  expect(entries[1]).toHaveTextContent("replaced by a newer version from the server");

  await fireEvent.input(screen.getByTestId("removed-search"), { target: { value: "NOTES" } });
  expect(screen.getAllByTestId("removed-entry")).toHaveLength(1);
  await fireEvent.click(screen.getByTestId("removed-restore"));
  expect(await screen.findByTestId("removed-restored")).toHaveTextContent("Restored as notes (restored).txt.");
  expect(calls).toEqual(["restore 7 1796117000-replaced-1a2b3c4d"]);

  await fireEvent.input(screen.getByTestId("removed-search"), { target: { value: "" } });
  await fireEvent.click(screen.getByTestId("removed-empty"));
  expect(calls.at(-1)).toBe("empty 7");
  await vi.waitFor(() => expect(screen.queryByTestId("removed")).toBeNull());
});

test("deletes the guard refused are shown with their folders, and each choice is sent", async () => {
  let refused: unknown = {
    pairId: 7,
    side: "phone",
    files: 100,
    bytes: 240_000_000,
    folders: [{ folder: "Photos/2024", files: 100, bytes: 240_000_000 }],
  };
  const decided: unknown[] = [];
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [PAIR],
    list_conflicts: () => [],
    refused_deletes: () => refused,
    decide_deletes: (args) => {
      decided.push(args);
      refused = null;
      return 12;
    },
  });
  render(App);
  const prompt = await screen.findByTestId("delete-prompt");
  expect(prompt).toHaveTextContent("The server deleted 100 files in Photos/2024");
  expect(prompt).toHaveTextContent("In Demo: that is more than a sync deletes without asking, so nothing was deleted here.");
  expect(screen.getByTestId("delete-prompt-folders")).toHaveTextContent("Photos/2024: 100 files, 240 MB");
  expect(screen.getByTestId("delete-them")).toHaveTextContent("Delete them here too");
  expect(screen.getByTestId("keep-them")).toHaveTextContent("Restore them to the server");

  await fireEvent.click(screen.getByTestId("decide-later"));
  expect(screen.queryByTestId("delete-prompt")).toBeNull();
  expect(decided).toEqual([]);
});

test("restoring refused deletes to the server asks the backend and closes the prompt", async () => {
  const decided: unknown[] = [];
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [PAIR],
    list_conflicts: () => [],
    refused_deletes: () =>
      decided.length === 0
        ? { pairId: 7, side: "server", files: 60, bytes: 600, folders: [{ folder: "", files: 60, bytes: 600 }] }
        : null,
    decide_deletes: (args) => {
      decided.push(args);
      return 12;
    },
  });
  render(App);
  const prompt = await screen.findByTestId("delete-prompt");
  expect(prompt).toHaveTextContent("This device deleted 60 files in the top folder");
  await fireEvent.click(screen.getByTestId("keep-them"));
  await vi.waitFor(() => expect(screen.queryByTestId("delete-prompt")).toBeNull());
  expect(decided).toEqual([{ pairId: 7, decision: "keepThem" }]);
});

test("starting at login is offered once beside the first pair, and the About screen keeps the switch", async () => {
  let setting = { available: true, enabled: false, offer: true };
  const asked: unknown[] = [];
  backend({
    list_remotes: () => [REMOTE],
    list_pairs: () => [PAIR],
    list_conflicts: () => [],
    start_at_login: () => setting,
    set_start_at_login: (args) => {
      asked.push(args.enabled);
      setting = { available: true, enabled: args.enabled as boolean, offer: false };
      return setting;
    },
  });
  render(App);
  await fireEvent.click(await screen.findByTestId("start-at-login-yes"));
  await waitFor(() => expect(screen.queryByTestId("start-at-login-offer")).not.toBeInTheDocument());
  expect(asked).toEqual([true]);
  await fireEvent.click(screen.getByRole("button", { name: "About" }));
  const toggle = (await screen.findByTestId("start-at-login")) as HTMLInputElement;
  expect(toggle.checked).toBe(true);
  await fireEvent.click(toggle);
  await waitFor(() => expect(asked).toEqual([true, false]));
  expect(toggle.checked).toBe(false);
});

test("where Tidesync cannot start at login, nothing offers it", async () => {
  backend({ list_remotes: () => [REMOTE], list_pairs: () => [PAIR], list_conflicts: () => [] });
  render(App);
  await screen.findByTestId("pair-local");
  expect(screen.queryByTestId("start-at-login-offer")).not.toBeInTheDocument();
  await fireEvent.click(screen.getByRole("button", { name: "About" }));
  await screen.findByText("9.8.7");
  expect(screen.queryByTestId("start-at-login")).not.toBeInTheDocument();
});
