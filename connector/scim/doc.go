// Package scim is the SCIM 2.0 client connector (RFC 7643, RFC 7644): it
// reads and writes the Users, Groups and custom resource types of a SCIM
// service provider, with the enterprise extension and custom schemas as
// /Schemas and /ResourceTypes describe them.
//
// Object types are the resource types' names ("User", "Group"); the
// anchor and the DN of an object are its SCIM id. Attributes are named
// by their SCIM path: "userName", "name.givenName" (a sub-attribute of a
// single complex attribute), "emails" (the values of a multi-valued
// complex attribute, the primary first), "members" (references: the ids
// of the members), and, for extensions, the path with the schema URN
// ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber").
// A multi-valued complex attribute without a "value" (addresses) holds
// each value as JSON text.
//
// Full import lists each resource type in pages (startIndex/count).
// Export creates by POST, replaces by PUT, updates by PATCH — or, when
// the server's /ServiceProviderConfig says PATCH is not supported, by
// GET, applying the operations here, and PUT — and deletes by DELETE;
// group membership changes are PATCH operations on members ("add" of
// the new members, "remove" of members[value eq "id"]). A 409 answer is
// recorded as AttributeValueMustBeUnique naming the attribute. 429
// answers (honouring Retry-After) and 5xx answers are retried with
// exponential backoff; when retries run out the failure is
// idsync.KindTransient, so that the run stops as stopped-connectivity.
//
// Authentication: a bearer token, OAuth 2.0 client credentials (the
// token is cached and renewed before it expires, and once on a 401), or
// HTTP basic; secrets come from connector.SecretRef. See docs/scim.md.
package scim
