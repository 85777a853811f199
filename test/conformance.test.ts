/**
 * Upstream conformance: every Kubernetes object and Helm release of prod, dev and prod failed over is
 * one the real API server, operators and charts accept (data: ../shared/k8s-schemas, see
 * conformance/upstream.ts); and the checker itself catches each kind of fault.
 */
import { checkConformance, type ConformanceReport, type RegisteredObject } from "../conformance/check";
import { Upstream } from "../conformance/upstream";
import { SCENARIOS } from "../conformance/scenarios";
import { cachedRun, resource, runIsolated, stackConfig, type EditableSetting, type Run } from "./harness";

const upstream = new Upstream();

async function runScenario(name: string): Promise<Run> {
  const scenario = SCENARIOS.find((s) => s.name === name)!;
  const engine = stackConfig(scenario.stack);
  const config = { ...engine.config };
  scenario.edit?.(config);
  const run = await cachedRun(`program ${scenario.stack} ${JSON.stringify(config)}`, () => runIsolated(scenario.stack, { ...engine, config }, async () => require("../index") as Record<string, unknown>));
  if (run.error) throw run.error;
  return run;
}

function findings(report: ConformanceReport): string[] {
  return report.objects.flatMap((o) => o.findings.map((f) => `${f.kind} ${o.object} ${f.path}: ${f.message}`));
}

const runs = new Map<string, Run>();

describe.each(SCENARIOS.map((s) => s.name))("%s", (name) => {
  test("every object and release is accepted upstream, and no values key is ignored", async () => {
    const run = await runScenario(name);
    runs.set(name, run);
    const report = checkConformance(run.recording.resources, upstream);
    expect(findings(report)).toEqual([]);
    // The kinds that matter are all there to be checked.
    const types = new Set(run.recording.resources.map((r) => r.type));
    for (const t of ["kubernetes:helm.sh/v3:Release", "kubernetes:postgresql.cnpg.io/v1:Cluster", "kubernetes:apps/v1:Deployment"]) expect(types).toContain(t);
    expect(report.checked).toBeGreaterThan(40);
  }, 90000);
});

describe("the checker catches each kind of fault", () => {
  beforeAll(async () => {
    if (!runs.has("prod")) runs.set("prod", await runScenario("prod"));
  }, 90000);

  /** The prod PerconaServerMongoDB of the active site, as registered. */
  const mongo = (): RegisteredObject => {
    const run = runs.get("prod")!;
    return resource(run, "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB", "waris-mongo-onprem-cluster");
  };
  const edited = (object: RegisteredObject, edit: (inputs: EditableSetting) => void): RegisteredObject => {
    const inputs = structuredClone(object.inputs) as EditableSetting;
    edit(inputs);
    return { ...object, inputs };
  };
  const check = (objects: RegisteredObject[]): string[] => findings(checkConformance(objects, upstream));

  test("MongoDB's objects are accepted on both sites, backup image and count retention included", () => {
    const run = runs.get("prod")!;
    for (const site of ["onprem", "gcloud"]) {
      const cr = resource(run, "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB", `waris-mongo-${site}-cluster`);
      expect(check([cr])).toEqual([]);
      expect((cr.inputs["spec"] as EditableSetting).backup.image).toMatch(/^percona\/percona-backup-mongodb:/);
    }
    expect((mongo().inputs["spec"] as EditableSetting).backup.tasks[0].retention).toMatchObject({ type: "count" });
  });

  test("a field the CRD does not declare is reported as pruned", () => {
    expect(check([edited(mongo(), (i) => (i.spec.replsets[0].votez = 1))])).toEqual([expect.stringMatching(/^pruned .* spec\.replsets\[0\]\.votez: unknown field/)]);
  });

  test("a missing required field is invalid", () => {
    expect(check([edited(mongo(), (i) => delete i.spec.backup.image)])).toEqual([expect.stringMatching(/^invalid .* spec\.backup: missing required field "image"/)]);
  });

  test("a value outside the enum is invalid", () => {
    expect(check([edited(mongo(), (i) => (i.spec.backup.tasks[0].retention.type = "days"))])).toEqual([expect.stringMatching(/retention\.type: must be equal to one of the allowed values \(\["count"\]\)/)]);
  });

  test("a CEL rule (x-kubernetes-validations) is evaluated", () => {
    const cluster = resource(runs.get("prod")!, "kubernetes:postgresql.cnpg.io/v1:Cluster", "waris-postgres-onprem");
    expect(check([cluster])).toEqual([]);
    // CloudNativePG: "!(has(self.imageCatalogRef) && has(self.imageName))" on spec.
    const both = edited(cluster, (i) => {
      i.spec.imageName = "ghcr.io/cloudnative-pg/postgresql:17.5";
      i.spec.imageCatalogRef = { apiGroup: "postgresql.cnpg.io", kind: "ImageCatalog", name: "pg", major: 17 };
    });
    expect(check([edited(cluster, (i) => (i.spec.imageName = "ghcr.io/cloudnative-pg/postgresql:17.5"))])).toEqual([]);
    expect(check([both])).toEqual([expect.stringMatching(/^invalid .* spec: x-kubernetes-validations: .*imageCatalogRef/)]);
  });

  test("a chart version that does not exist upstream, and a crVersion no operator has", () => {
    const release = resource(runs.get("prod")!, "kubernetes:helm.sh/v3:Release", "waris-mongo-onprem-operator");
    expect(check([edited(release, (i) => (i.version = "1.23.1"))])).toEqual([expect.stringMatching(/^missing-version .* psmdb-operator 1\.23\.1 does not exist upstream \(released: 1\.22\.0\)/)]);
    expect(check([release, edited(mongo(), (i) => (i.spec.crVersion = "1.23.1"))])).toEqual([expect.stringMatching(/^missing-version .* crVersion 1\.23\.1/)]);
  });

  test("a values key that the chart neither declares nor reads is reported as ignored", () => {
    const release = resource(runs.get("prod")!, "kubernetes:helm.sh/v3:Release", "waris-postgres-onprem-cnpg");
    expect(check([release])).toEqual([]);
    expect(check([edited(release, (i) => (i.values.commonLabels = { a: "b" }))])).toEqual([expect.stringMatching(/^ignored-value .* values\.commonLabels\.a/)]);
  });

  test("built-in kinds: an unknown field and a wrong type in a pod template", () => {
    const deployment = runs.get("prod")!.recording.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
    expect(check([deployment])).toEqual([]);
    const bad = edited(deployment, (i) => {
      i.spec.template.spec.enableServiceLink = false;
      i.spec.replicas = "two";
    });
    expect(check([bad]).sort()).toEqual([expect.stringMatching(/^invalid .* spec\.replicas: must be integer/), expect.stringMatching(/^pruned .* spec\.template\.spec\.enableServiceLink: unknown field/)]);
  });

  test("a custom resource kind without upstream data is refused", () => {
    const other: RegisteredObject = { type: "kubernetes:example.com/v1:Widget", name: "w", inputs: { apiVersion: "example.com/v1", kind: "Widget", spec: {} } };
    expect(check([other])).toEqual([expect.stringMatching(/^no-schema /)]);
  });
});
