// SCIM 2.0 test peer for idsync: the protocol (routing, schema validation,
// filter parsing and matching, PATCH, ListResponse paging, error documents,
// /ServiceProviderConfig, /Schemas, /ResourceTypes) is third-party code,
// scimmy + scimmy-routers (MIT). Only the storage callbacks below, backed by
// Maps in memory, are ours. Listens on 127.0.0.1 only.
//
// Environment: PORT (default 8880), SCIM_TOKEN (default test-token).
// Started by .ci/peers/30-scimmy.sh; base URL http://127.0.0.1:PORT/scim/v2.
// Isolated tenants, so that tests running at once do not see each
// other's data: http://127.0.0.1:PORT/t/NAME/scim/v2 has stores of its
// own (SCIMMY passes the tenant to the callbacks as their context).
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";
import {randomUUID} from "node:crypto";

const PORT = +(process.env.PORT ?? 8880), TOKEN = process.env.SCIM_TOKEN ?? "test-token";
const tenants = new Map();
function stores(tenant) {
  const key = tenant ?? "";
  if (!tenants.has(key)) tenants.set(key, {User: new Map(), Group: new Map()});
  return tenants.get(key);
}

// Users carry the enterprise extension (RFC 7643 §4.3), optional.
SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);
// And a custom extension, for the client's schema discovery.
SCIMMY.Resources.User.extend(new SCIMMY.Types.SchemaDefinition("IdsyncTest",
  "urn:ietf:params:scim:schemas:extension:idsync:2.0:Test", "Custom extension of the idsync tests", [
    new SCIMMY.Types.Attribute("string", "badgeNumber"),
    new SCIMMY.Types.Attribute("integer", "clearance"),
    new SCIMMY.Types.Attribute("string", "sites", {multiValued: true}),
  ]), false);

for (const [name, R, unique] of [["User", SCIMMY.Resources.User, "userName"], ["Group", SCIMMY.Resources.Group, "displayName"]]) {
  SCIMMY.Resources.declare(R)
    .ingress((resource, instance, tenant) => {
      const store = stores(tenant)[name];
      for (const u of store.values())
        if (String(u[unique]).toLowerCase() === String(instance[unique]).toLowerCase() && u.id !== resource.id)
          throw new SCIMMY.Types.Error(409, "uniqueness", `${unique} ${instance[unique]} already exists`);
      if (resource.id && !store.has(resource.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      const now = new Date().toISOString(), old = resource.id ? store.get(resource.id) : undefined;
      const id = resource.id ?? randomUUID();
      const version = (old?.meta?.v ?? 0) + 1;
      const rec = {...JSON.parse(JSON.stringify(instance)), id,
        meta: {created: old?.meta?.created ?? now, lastModified: now, version: `W/"${version}"`, v: version}};
      store.set(id, rec);
      return strip(rec);
    })
    .egress((resource, tenant) => {
      const store = stores(tenant)[name];
      if (resource.id) {
        const r = store.get(resource.id);
        if (!r) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
        return strip(r);
      }
      const all = [...store.values()].map(strip);
      return resource.filter ? resource.filter.match(all) : all;
    })
    .degress((resource, tenant) => {
      const store = stores(tenant)[name];
      if (!store.delete(resource.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      // A deleted user leaves the groups it was a member of.
      if (name === "User") for (const g of stores(tenant).Group.values())
        if (Array.isArray(g.members)) g.members = g.members.filter((m) => m.value !== resource.id);
    });
}
function strip(r) { const {v, ...meta} = r.meta; return {...r, meta}; }

const app = express();
app.use(["/scim/v2", "/t/:tenant/scim/v2"], new SCIMMYRouters({
  type: "bearer",
  docUri: "https://example.invalid/auth",
  handler: (req) => {
    if (req.header("Authorization") !== `Bearer ${TOKEN}`) throw new Error("Authorization failed");
    return "test-client";
  },
  context: (req) => req.params.tenant,
}));
const srv = app.listen(PORT, "127.0.0.1", () => console.log(`SCIM server on http://127.0.0.1:${PORT}/scim/v2 pid=${process.pid}`));
process.on("SIGTERM", () => srv.close(() => process.exit(0)));
