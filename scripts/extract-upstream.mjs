#!/usr/bin/env node
// Extracts the upstream data this repository needs beyond the team's shared folder (`../shared/k8s-schemas`)
// into `conformance/upstream-data/`, in the shared folder's format (its README): one JSON file per CRD version,
// `values.yaml` / `values.schema.json` / `template-values-refs.json` per chart, and an `index.json` listing them.
//
// Why here and not in the shared folder: the shared folder is the team's read-only copy on CI machines, and data a
// session adds to it there does not reach CI. What is extracted here is data only (schemas and default values,
// Apache-2.0, source and commit recorded in every file); no upstream code.
//
// Sources: git mirrors fetched with the `fetch` tool (`/work/.mirror/<owner>+<name>/repo`, or `WARIS_MIRRORS`), read
// with `git show <tag>:<path>`. Run: `node scripts/extract-upstream.mjs`. The output is committed; CI never runs this.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "..", "conformance", "upstream-data");
const mirrors = process.env.WARIS_MIRRORS ?? "/work/.mirror";
const LICENSE = "Apache-2.0";

/**
 * The CRDs and charts to extract (to add an operator: add its repository, tag and paths here, fetch its mirror,
 * run the script, and add its rows to the README beside the data). Versions are the ones the program pins
 * (components/*.ts).
 */
const SOURCES = [
  {
    repo: "cert-manager/cert-manager",
    tag: "v1.18.2", // components/postgres-cluster.ts OPERATOR_CHARTS cert-manager
    dir: "cert-manager/v1.18.2",
    // The CRD files carry Helm template directives only in comments and quoted label values (`# START crd {{- if
    // .Values.crds.enabled }}`), so they parse as YAML as they are.
    crds: ["deploy/crds/crd-certificates.yaml", "deploy/crds/crd-issuers.yaml", "deploy/crds/crd-clusterissuers.yaml"],
  },
  {
    repo: "external-secrets/external-secrets",
    tag: "helm-chart-2.9.0", // components/vault-keys.ts EXTERNAL_SECRETS_CHART
    dir: "external-secrets/chart-2.9.0",
    crds: [
      "config/crds/bases/external-secrets.io_externalsecrets.yaml",
      "config/crds/bases/external-secrets.io_secretstores.yaml",
      "config/crds/bases/external-secrets.io_clustersecretstores.yaml",
      "config/crds/bases/external-secrets.io_pushsecrets.yaml",
      "config/crds/bases/generators.external-secrets.io_passwords.yaml",
      "config/crds/bases/generators.external-secrets.io_vaultdynamicsecrets.yaml",
    ],
    chart: { name: "external-secrets", path: "deploy/charts/external-secrets", pinned: "2.9.0" },
  },
];

function git(repo, ...args) {
  const dir = path.join(mirrors, repo.replace("/", "+"), "repo");
  return execFileSync("git", ["--git-dir", dir, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

/**
 * The `.Values` paths a chart's templates read: a regex scan of every template, with `with .Values.x` blocks
 * resolved one level (a `.y` inside reads `x.y`), as the shared folder's README describes its own extraction.
 */
export function templateValueRefs(texts) {
  const refs = new Set();
  const add = (p) => refs.add(p.replace(/^\./, ""));
  for (const text of texts) {
    const scopes = [];
    for (const m of text.matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)) {
      const action = m[1];
      for (const v of action.matchAll(/\.Values((?:\.[A-Za-z0-9_-]+)+)/g)) add(v[1]);
      const scope = [...scopes].reverse().find((s) => s !== null);
      if (scope) {
        for (const v of action.matchAll(/(?<![\w$)\]])((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)/g)) {
          if (/^\.(Values|Release|Chart|Capabilities|Template|Files)\b/.test(v[1])) continue;
          add(`${scope}${v[1]}`);
        }
      }
      const head = action.match(/^(with|range|if|define|block|end|else)\b\s*(.*)$/s);
      if (!head) continue;
      if (head[1] === "end") scopes.pop();
      else if (head[1] === "else") continue;
      else {
        const w = head[1] === "with" ? head[2].replace(/^\((\.Values[A-Za-z0-9_.-]*)\)/, "$1").match(/^\.Values((?:\.[A-Za-z0-9_-]+)+)\s*$/) : null;
        scopes.push(w ? w[1].slice(1) : null);
      }
    }
  }
  return [...refs].sort();
}

function extract() {
  // Rewrites the data; README.md (written by hand) stays.
  for (const entry of existsSync(out) ? readdirSync(out) : []) if (entry !== "README.md") rmSync(path.join(out, entry), { recursive: true, force: true });
  const index = { note: "", crds: [], charts: [], helmValues: [] };
  for (const s of SOURCES) {
    const commit = git(s.repo, "rev-parse", `${s.tag}^{commit}`).trim();
    const repository = `https://github.com/${s.repo}`;
    mkdirSync(path.join(out, s.dir), { recursive: true });
    for (const file of s.crds) {
      const crd = yaml.load(git(s.repo, "show", `${s.tag}:${file}`));
      for (const v of crd.spec.versions.filter((x) => x.served)) {
        const name = `${crd.spec.group}_${crd.spec.names.kind}_${v.name}.json`;
        const rel = path.posix.join(s.dir, name);
        writeFileSync(
          path.join(out, rel),
          JSON.stringify(
            {
              source: { repository, tag: s.tag, commit, path: file, license: LICENSE, crd: crd.metadata.name, served: v.served, storage: v.storage },
              group: crd.spec.group,
              kind: crd.spec.names.kind,
              version: v.name,
              openAPIV3Schema: v.schema.openAPIV3Schema,
            },
            null,
            1,
          ) + "\n",
        );
        index.crds.push({ scope: crd.spec.scope, file: rel, repository, tag: s.tag, commit, path: file, license: LICENSE, group: crd.spec.group, kind: crd.spec.names.kind, version: v.name });
      }
    }
    if (s.chart) {
      const c = s.chart;
      const valuesDir = path.posix.join(s.dir, "helm-values");
      mkdirSync(path.join(out, valuesDir), { recursive: true });
      const files = git(s.repo, "ls-tree", "-r", "--name-only", s.tag, `${c.path}/`).split("\n").filter(Boolean);
      for (const f of ["values.yaml", "values.schema.json"]) {
        if (!files.includes(`${c.path}/${f}`)) continue;
        writeFileSync(path.join(out, valuesDir, f), git(s.repo, "show", `${s.tag}:${c.path}/${f}`));
        index.helmValues.push({ file: path.posix.join(valuesDir, f), chart: c.name, repository, tag: s.tag, commit, path: `${c.path}/${f}`, license: LICENSE });
      }
      const templates = files.filter((f) => f.startsWith(`${c.path}/templates/`) && /\.(ya?ml|tpl|txt)$/.test(f));
      const refs = templateValueRefs(templates.map((f) => git(s.repo, "show", `${s.tag}:${f}`)));
      writeFileSync(
        path.join(out, valuesDir, "template-values-refs.json"),
        JSON.stringify(
          {
            source: { repository, tag: s.tag, commit, path: `${c.path}/templates` },
            note: "Paths under .Values that the chart's templates read (extracted by a regex scan of the templates; with-blocks resolved one level).",
            refs,
          },
          null,
          1,
        ) + "\n",
      );
      const chartYaml = yaml.load(git(s.repo, "show", `${s.tag}:${c.path}/Chart.yaml`));
      index.charts.push({
        chart: c.name,
        chartVersion: String(chartYaml.version),
        dir: valuesDir,
        pinned: c.pinned,
        pinExists: String(chartYaml.version) === c.pinned,
        repository,
        tag: s.tag,
        appVersion: String(chartYaml.appVersion),
        subcharts: (chartYaml.dependencies ?? []).map((d) => ({ name: d.name, valuesKey: d.alias ?? d.name, ...(d.condition ? { condition: d.condition } : {}), version: d.version })),
      });
    }
  }
  index.note = "Written by scripts/extract-upstream.mjs; see README.md beside this file.";
  writeFileSync(path.join(out, "index.json"), JSON.stringify(index, null, 1) + "\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) extract();
