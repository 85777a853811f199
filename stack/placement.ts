/**
 * Where things are, from the sites as written: the data sites, the site that keeps the backups, the home
 * primary. Shared by the stack configuration (`stack/config.ts` re-exports them) and its checks.
 */
import { KUBECONFIG_SITE_KINDS } from "../components/site";
import type { BackupSettings, SiteSettings, StackSettings } from "./config";

/** Whether the program is handed a kubeconfig for the site's cluster: onprem/gcloud, or a cloud site with `kubernetes: true`. */
export function hasKubeconfig(site: SiteSettings): boolean {
  return KUBECONFIG_SITE_KINDS.includes(site.kind) || site.kubernetes === true;
}

/** The data sites (primary and standby roles), in the order written. */
export function dataSiteNames(sites: Readonly<Record<string, SiteSettings>>): string[] {
  return Object.keys(sites).filter((n) => sites[n]!.role !== "burst");
}

/**
 * The site holding the backups: `backups.site`, else `postgres.backupSite` (its older name), else the only
 * data site with an object store.
 */
export function backupSiteName(settings: Pick<StackSettings, "sites" | "postgres"> & { readonly backups?: Pick<BackupSettings, "site"> }): string | undefined {
  if (settings.backups?.site) return settings.backups.site;
  if (settings.postgres?.backupSite) return settings.postgres.backupSite;
  const withStore = dataSiteNames(settings.sites).filter((n) => settings.sites[n]!.objectStore !== undefined);
  return withStore.length === 1 ? withStore[0] : undefined;
}

/** The home primary: the site configured with role `primary`, where the database was first created. */
export function homePrimary(sites: Readonly<Record<string, SiteSettings>>): string | undefined {
  return Object.keys(sites).find((n) => sites[n]!.role === "primary");
}

