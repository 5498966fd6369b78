#!/usr/bin/env node
// pulumi-language-nodejs (shim) — a drop-in replacement for Pulumi's Go Node.js language host.
//
// Why: the Go module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 is not served by
// the Go module proxy reachable from this machine, so the real host cannot be built. This file serves the
// same gRPC service (pulumirpc.LanguageRuntime) using @grpc/grpc-js and the generated stubs that ship in
// the @pulumi/pulumi npm package, and runs programs exactly like the Go host does: for every Run it spawns
//
//     node [nodeargs] <program dir's @pulumi/pulumi/cmd/run> --monitor .. --engine .. --project .. \
//          --root-directory .. --stack .. --pwd <program dir> [--dry-run] --parallel N <entry point> [args]
//
// with PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS (and PULUMI_NODEJS_TYPESCRIPT / _TSCONFIG_PATH from the
// Pulumi.yaml runtime options) in the environment, and maps exit code 32 to "bail" (error already shown).
//
// Differences from the Go host (none matter for programs in this repo):
//   * no resource-monitor proxy and no `--sync` pipes, so the long-deprecated synchronous invokes
//     (`invokeSync`) are unavailable; normal (async) invokes and everything else talk to the engine directly;
//   * GetRequiredPackages/GetRequiredPlugins report no packages (nothing is auto-installed: offline machine);
//   * InstallDependencies does not run npm (scripts/setup.sh does that);
//   * RunPlugin, Generate*, Pack, Link are UNIMPLEMENTED (only needed for source-based plugins / codegen).
//
// Launch protocol (sdk/go/common/resource/plugin/plugin.go, langruntime_plugin.go in pulumi v3.274.1):
// the CLI execs `pulumi-language-nodejs [--tracing=..] [--logflow] [--logtostderr] [-v=N] <engine addr>`
// in the program directory, reads one line with the gRPC port from stdout, and forwards any further
// stdout/stderr lines as diagnostics.
"use strict";

const childProcess = require("child_process");
const fs = require("fs");
const path = require("path");

// ---------------------------------------------------------------------------------------------------------
// Command line.
const argv = process.argv.slice(2);
let tracing = "";
let runtimeName = "nodejs";
const positional = [];
for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--version" || a === "-version") {
        process.stdout.write(shimVersion() + "\n");
        process.exit(0);
    }
    const m = /^--?([A-Za-z0-9_.-]+)(?:=(.*))?$/.exec(a);
    if (m) {
        const [, name, value] = m;
        if (name === "tracing") {
            tracing = value !== undefined ? value : argv[++i] || "";
        } else if (name === "runtime") {
            runtimeName = value !== undefined ? value : argv[++i] || "nodejs";
        } else if (name === "root") {
            if (value === undefined) i++;
        }
        // --logflow, --logtostderr, -v=N and unknown flags are accepted and ignored.
        continue;
    }
    positional.push(a);
}
let engineAddress = positional.length > 0 ? positional[0] : "";
if (runtimeName !== "nodejs") {
    process.stderr.write(`pulumi-language-nodejs (shim): unsupported runtime: ${runtimeName}\n`);
    process.exit(1);
}

// ---------------------------------------------------------------------------------------------------------
// gRPC stubs. They come from the @pulumi/pulumi package installed next to this repo (its proto/ directory
// holds the generated pulumirpc code, and @grpc/grpc-js + google-protobuf are its dependencies).
function requireFromSdk(mod) {
    const bases = [__dirname, process.cwd()];
    const resolved = require.resolve(mod, { paths: bases });
    return require(resolved);
}
const grpc = requireFromSdk("@grpc/grpc-js");
const langrpc = requireFromSdk("@pulumi/pulumi/proto/language_grpc_pb.js");
const langproto = requireFromSdk("@pulumi/pulumi/proto/language_pb.js");
const plugproto = requireFromSdk("@pulumi/pulumi/proto/plugin_pb.js");
const emptyproto = requireFromSdk("google-protobuf/google/protobuf/empty_pb.js");

function shimVersion() {
    try {
        const pj = require.resolve("@pulumi/pulumi/package.json", { paths: [__dirname, process.cwd()] });
        return JSON.parse(fs.readFileSync(pj, "utf8")).version;
    } catch {
        return "3.0.0";
    }
}

function debug(msg) {
    if (process.env.PULUMI_LANGUAGE_SHIM_DEBUG) {
        process.stderr.write(`[pulumi-language-nodejs shim] ${msg}\n`);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

/** ProgramInfo (root dir, program dir, entry point, Pulumi.yaml runtime options) from a request. */
function programInfo(req) {
    const info = typeof req.getInfo === "function" ? req.getInfo() : undefined;
    let options = {};
    if (info && info.getOptions()) {
        options = info.getOptions().toJavaScript() || {};
    }
    const pwd = typeof req.getPwd === "function" ? req.getPwd() : "";
    const legacyProgram = typeof req.getProgram === "function" ? req.getProgram() : "";
    const programDirectory = (info && info.getProgramDirectory()) || pwd || process.cwd();
    const rootDirectory = (info && info.getRootDirectory()) || programDirectory;
    const entryPoint = (info && info.getEntryPoint()) || legacyProgram || ".";
    return { rootDirectory, programDirectory, entryPoint, options };
}

/** Same validation and defaults as parseOptions in the Go host. */
function parseOptions(options) {
    const out = { typescript: true, tsconfigpath: "", nodeargs: "", packagemanager: "auto" };
    if ("typescript" in options) {
        if (typeof options.typescript !== "boolean") throw new Error("typescript option must be a boolean");
        out.typescript = options.typescript;
    }
    if ("tsconfig" in options) {
        if (typeof options.tsconfig !== "string") throw new Error("tsconfigpath option must be a string");
        out.tsconfigpath = options.tsconfig;
    }
    if ("nodeargs" in options) {
        if (typeof options.nodeargs !== "string") throw new Error("nodeargs option must be a string");
        out.nodeargs = options.nodeargs;
    }
    if ("packagemanager" in options) {
        const pm = options.packagemanager;
        if (!["auto", "npm", "yarn", "pnpm", "bun"].includes(pm)) {
            throw new Error(`packagemanager option must be one of auto, npm, yarn, pnpm or bun, got "${pm}"`);
        }
        out.packagemanager = pm;
    }
    return out;
}

/** Minimal shell-word splitting (quotes and backslashes), like github.com/google/shlex. */
function shellSplit(s) {
    const words = [];
    let cur = "";
    let inWord = false;
    let quote = "";
    for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (quote === "'") {
            if (c === "'") quote = "";
            else cur += c;
        } else if (quote === '"') {
            if (c === '"') quote = "";
            else if (c === "\\" && i + 1 < s.length) cur += s[++i];
            else cur += c;
        } else if (c === "'" || c === '"') {
            quote = c;
            inWord = true;
        } else if (c === "\\" && i + 1 < s.length) {
            cur += s[++i];
            inWord = true;
        } else if (/\s/.test(c)) {
            if (inWord) words.push(cur);
            cur = "";
            inWord = false;
        } else {
            cur += c;
            inWord = true;
        }
    }
    if (quote) throw new Error(`unterminated quote in nodeargs: ${s}`);
    if (inWord) words.push(cur);
    return words;
}

/** "ns:name" -> "ns:config:name" (the legacy form the Go host hands to the Node SDK). */
function legacyConfigKey(k) {
    const parts = k.split(":");
    if (parts.length === 3 && parts[1] === "config") return k;
    const i = k.indexOf(":");
    if (i < 0) throw new Error(`could not parse ${k} as a configuration key`);
    return `${k.slice(0, i)}:config:${k.slice(i + 1)}`;
}

/** Resolve a module the way the Go host's locateModule does: from the program directory. */
function locateModule(mod, programDirectory) {
    try {
        return require.resolve(mod, { paths: [programDirectory] });
    } catch (e) {
        if (e && e.code === "MODULE_NOT_FOUND") {
            throw new Error(
                `It looks like the Pulumi SDK has not been installed in ${programDirectory} ` +
                    `(cannot resolve ${mod}). Have you run npm install (scripts/setup.sh)?`,
            );
        }
        throw e;
    }
}

function findOnPath(exe) {
    for (const dir of (process.env.PATH || "").split(path.delimiter)) {
        if (!dir) continue;
        const p = path.join(dir, exe);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            return p;
        } catch {
            /* keep looking */
        }
    }
    return "";
}

function nodeBinary() {
    return findOnPath("node") || process.execPath;
}

// ---------------------------------------------------------------------------------------------------------
// The LanguageRuntime service.
const running = new Set(); // child processes of in-flight Run calls

const service = {
    handshake(call, callback) {
        engineAddress = call.request.getEngineAddress() || engineAddress;
        debug(`Handshake engine=${engineAddress}`);
        callback(null, new langproto.LanguageHandshakeResponse());
    },

    getRequiredPlugins(call, callback) {
        const resp = new langproto.GetRequiredPluginsResponse();
        resp.setPluginsList([]);
        callback(null, resp);
    },

    getRequiredPackages(call, callback) {
        const resp = new langproto.GetRequiredPackagesResponse();
        resp.setPackagesList([]);
        callback(null, resp);
    },

    getPluginInfo(call, callback) {
        const resp = new plugproto.PluginInfo();
        resp.setVersion(shimVersion());
        callback(null, resp);
    },

    run(call, callback) {
        const req = call.request;
        let settled = false;
        const reply = (error, bail) => {
            if (settled) return;
            settled = true;
            const resp = new langproto.RunResponse();
            resp.setError(error || "");
            resp.setBail(!!bail);
            callback(null, resp);
        };
        try {
            const info = programInfo(req);
            debug(
                "Run request: " +
                    JSON.stringify({
                        ...info,
                        pwd: req.getPwd(),
                        program: req.getProgram(),
                        project: req.getProject(),
                        stack: req.getStack(),
                        dryRun: req.getDryrun(),
                        parallel: req.getParallel(),
                        organization: req.getOrganization(),
                        args: req.getArgsList(),
                        configKeys: [...req.getConfigMap().keys()],
                        secretKeys: req.getConfigsecretkeysList(),
                    }),
            );
            const opts = parseOptions(info.options);
            const runPath = locateModule(
                process.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH || "@pulumi/pulumi/cmd/run",
                info.programDirectory,
            );

            const args = [runPath];
            const maybe = (k, v) => {
                if (v !== undefined && v !== null && `${v}` !== "") args.push(`--${k}`, `${v}`);
            };
            maybe("monitor", req.getMonitorAddress());
            maybe("engine", engineAddress);
            maybe("organization", req.getOrganization());
            maybe("project", req.getProject());
            maybe("root-directory", info.rootDirectory);
            maybe("stack", req.getStack());
            maybe("pwd", info.programDirectory);
            if (req.getDryrun()) args.push("--dry-run");
            maybe("parallel", String(req.getParallel()));
            maybe("tracing", tracing);
            args.push(info.entryPoint);
            args.push(...req.getArgsList());

            const config = {};
            for (const [k, v] of req.getConfigMap().entries()) {
                config[legacyConfigKey(k)] = v;
            }
            const env = { ...process.env };
            env.PULUMI_CONFIG = JSON.stringify(config);
            env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(req.getConfigsecretkeysList() || []);
            if (opts.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
            if (opts.tsconfigpath) env.PULUMI_NODEJS_TSCONFIG_PATH = opts.tsconfigpath;

            const nodeArgs = shellSplit(opts.nodeargs);
            if (req.getAttachDebugger && req.getAttachDebugger()) {
                nodeArgs.push("--inspect-brk", "--inspect-publish-uid=http");
            }
            const fullArgs = [...nodeArgs, ...args];
            debug(`Run: ${nodeBinary()} ${fullArgs.join(" ")}`);

            // stdout/stderr go straight to ours; the CLI turns them into diagnostics.
            const child = childProcess.spawn(nodeBinary(), fullArgs, {
                cwd: info.programDirectory,
                env,
                stdio: ["ignore", "inherit", "inherit"],
            });
            running.add(child);
            child.on("error", (err) => {
                running.delete(child);
                reply(`Problem executing program (could not run language executor): ${err.message}`, false);
            });
            child.on("exit", (code, signal) => {
                running.delete(child);
                if (code === 0) reply("", false);
                else if (code === 32) reply("", true); // nodeJSProcessExitedAfterShowingUserActionableMessage
                else if (code !== null) reply(`Program exited with non-zero exit code: ${code}`, false);
                else reply(`Program exited unexpectedly: signal ${signal}`, false);
            });
            // If the CLI gives up on the call, stop the program.
            call.on("cancelled", () => {
                if (child.exitCode === null) child.kill("SIGINT");
            });
        } catch (e) {
            reply(e instanceof Error ? e.message : String(e), false);
        }
    },

    installDependencies(call) {
        const resp = new langproto.InstallDependenciesResponse();
        resp.setStdout(
            Buffer.from(
                "pulumi-language-nodejs (shim): not installing dependencies; run scripts/setup.sh (npm ci).\n",
            ),
        );
        call.write(resp);
        call.end();
    },

    runtimeOptionsPrompts(call, callback) {
        const resp = new langproto.RuntimeOptionsResponse();
        resp.setPromptsList([]);
        callback(null, resp);
    },

    template(call, callback) {
        callback(null, new langproto.TemplateResponse());
    },

    about(call, callback) {
        const resp = new langproto.AboutResponse();
        const node = nodeBinary();
        resp.setExecutable(node);
        let version = process.version;
        if (fs.realpathSync(node) !== fs.realpathSync(process.execPath)) {
            try {
                version = childProcess.execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
            } catch {
                /* keep ours */
            }
        }
        resp.setVersion(version);
        resp.getMetadataMap().set("packagemanager", "npm");
        resp.getMetadataMap().set("languagehost", "tools/language-host shim");
        callback(null, resp);
    },

    getProgramDependencies(call, callback) {
        try {
            const info = programInfo(call.request);
            const deps = [];
            let dir = info.programDirectory;
            let manifest = "";
            for (;;) {
                const p = path.join(dir, "package.json");
                if (fs.existsSync(p)) {
                    manifest = p;
                    break;
                }
                const up = path.dirname(dir);
                if (up === dir) break;
                dir = up;
            }
            if (manifest) {
                const pj = JSON.parse(fs.readFileSync(manifest, "utf8"));
                const names = Object.keys({ ...(pj.dependencies || {}), ...(pj.devDependencies || {}) }).sort();
                for (const name of names) {
                    let version = "";
                    try {
                        const depPj = require.resolve(`${name}/package.json`, { paths: [path.dirname(manifest)] });
                        version = JSON.parse(fs.readFileSync(depPj, "utf8")).version || "";
                    } catch {
                        const candidate = path.join(path.dirname(manifest), "node_modules", name, "package.json");
                        if (fs.existsSync(candidate)) {
                            version = JSON.parse(fs.readFileSync(candidate, "utf8")).version || "";
                        }
                    }
                    const d = new langproto.DependencyInfo();
                    d.setName(name);
                    d.setVersion(version);
                    deps.push(d);
                }
            }
            const resp = new langproto.GetProgramDependenciesResponse();
            resp.setDependenciesList(deps);
            callback(null, resp);
        } catch (e) {
            callback({ code: grpc.status.INTERNAL, details: e instanceof Error ? e.message : String(e) });
        }
    },

    cancel(call, callback) {
        for (const child of running) {
            if (child.exitCode === null) child.kill("SIGINT");
        }
        callback(null, new emptyproto.Empty());
    },
    // runPlugin, runPlugin2, generateProgram, generateProject, generatePackage, pack, link: not provided;
    // @grpc/grpc-js answers UNIMPLEMENTED for them (and for any method the installed stubs do not know).
};

// ---------------------------------------------------------------------------------------------------------
// Serve, print the port, and go away together with the CLI.
const server = new grpc.Server({
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
    "grpc.max_send_message_length": 400 * 1024 * 1024,
});
// With PULUMI_LANGUAGE_SHIM_DEBUG=1 every call is logged to stderr (the CLI shows it as a diagnostic).
const impl = {};
for (const [name, fn] of Object.entries(service)) {
    impl[name] = (call, callback) => {
        debug(`rpc ${name}`);
        return fn(call, callback);
    };
}
server.addService(langrpc.LanguageRuntimeService, impl);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
        process.stderr.write(`could not start language host RPC server: ${err.message}\n`);
        process.exit(1);
    }
    process.stdout.write(`${port}\n`);
    debug(`listening on ${port}, engine=${engineAddress}`);
});

function shutdown(signal) {
    for (const child of running) {
        if (child.exitCode === null) child.kill(signal === "SIGKILL" ? "SIGKILL" : "SIGINT");
    }
    server.forceShutdown();
    process.exit(0);
}
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));

// The Go host health-checks the engine and exits when it is gone; watching for re-parenting is the
// cheap equivalent (the launcher execs node, so our parent is the CLI).
const parentPid = process.ppid;
setInterval(() => {
    if (process.ppid !== parentPid) shutdown("SIGTERM");
}, 1000).unref();
