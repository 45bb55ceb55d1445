// Package config loads and validates an idsync configuration directory:
// YAML files declaring the metaverse schema, connectors, sync rules and
// run profiles. Every error names file:line:column. Secrets are never
// stored in clear: configuration holds references to environment
// variables, resolved when a connector opens (EnvSecrets).
//
// Load reads every *.yaml and *.yml file under a directory, recursively
// and in path order (names starting with a dot are skipped); the files
// merge. Each may hold several YAML documents and any of these top-level
// keys:
//
//	store: sqlite:idsync.db          # default; a relative SQLite path resolves against the directory
//	cycle:                           # at most once
//	  interval: 30m                  # default 30m
//	  import: delta-import           # profile names; defaults delta-import (the engine falls back
//	  sync: delta-sync               #   to full-import), delta-sync, export. A name set here must
//	  export: export                 #   be a profile of at least one connector.
//	metaverse:
//	  objectTypes:
//	    - name: person
//	      deletion: {when: last-link}    # default; or {when: connector-link-removed, connectors: [hr]}
//	      attributes:
//	        - {name: employeeId, type: string}   # string integer boolean binary reference datetime
//	        - {name: proxyAddresses, type: string, multiValued: true}
//	connectors:                      # a list, or one connector under `connector:`
//	  - name: hr                     # required, unique
//	    type: csv                    # required: a registered connector type
//	    settings: {path: hr.csv, anchor: [employeeId]}   # the type's Config; unknown keys are errors
//	    capabilities: {objectConfirmation: NoDeleteConfirmation}   # overrides
//	    objectTypes: [person]        # object types in scope (empty: all)
//	    attributes: [employeeId]     # attribute inclusion list (empty: all)
//	    partitions: ["DC=contoso,DC=com"]   # quote DNs inside [...] and {...}
//	    deprovision: delete          # or disconnect; default delete
//	    deletionThreshold: 500       # default 500; none (or -1) disables
//	    pageSize: 1000               # default 1000
//	    params: {Domain.FQDN: contoso.com}  # %Name% in rules; Connector.ID defaults to the name
//	    matching:                    # take over existing target objects (§12); see Matching
//	      {immutableIdAttribute: immutableId, privilegedAttribute: adminRoles, blockSoftMatch: false}
//	    profiles:                    # default: one profile per step type (delta-import only
//	      full-import: [full-import] #   when the connector can import deltas)
//	      delta: [{type: delta-import, partition: "DC=contoso,DC=com", pageSize: 500}, Delta Synchronization]
//	rules:
//	  - name: In from HR             # required, unique
//	    description: ...
//	    immutableTag: ...
//	    direction: inbound           # required: inbound or outbound
//	    connector: hr                # required: a declared connector
//	    csObjectType: person         # required
//	    mvObjectType: person         # required: a declared metaverse object type
//	    linkType: Provision          # Join (default), StickyJoin or Provision
//	    precedence: 100              # required, unique among all rules; lower wins
//	    enabled: true                # default true
//	    passwordSync: false
//	    scope:                       # groups (OR) of clauses (AND)
//	      - - {attribute: status, operator: EQUAL, value: active}
//	    join:                        # groups in order, each a list of conditions
//	      - - {source: employeeId, target: employeeId, caseSensitive: false}
//	    flows:                       # exactly one of source, constant, expression
//	      - {target: displayName, source: displayName}
//	      - {target: accountEnabled, constant: "True"}
//	      - {target: mail, expression: 'LCase([givenName]) & "@x.com"', applyOnce: false, merge: Update}
//
// Secrets in settings are written {env: NAME} or "${NAME}"; a literal
// string under a key that names a secret (password, secret, token,
// credential, ...key) is an error.
//
// Anchors, aliases and merge keys (<<: *defaults) work everywhere.
package config
