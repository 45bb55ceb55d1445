package config

import (
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/expr"
)

// Config is a loaded, validated configuration.
type Config struct {
	// Dir is the configuration directory; relative paths resolve against it.
	Dir string
	// Store is the store DSN ("sqlite:idsync.db" relative to Dir by default).
	Store string
	// Metaverse is the metaverse schema, with each object type's deletion rule.
	Metaverse *idsync.Schema
	// Connectors in the order they were declared (the order rule groups
	// with one name keep across connectors, §7.1).
	Connectors []*Connector
	// Rules in declaration order; the engine sorts by precedence.
	Rules []*idsync.SyncRule
	// Cycle settings for `idsync cycle`.
	Cycle Cycle

	reg      *connector.Registry                  // for Validate
	pos      *positions                           // where each value was written
	programs map[*idsync.SyncRule][]*expr.Program // compiled expression flows
}

// Program returns the compiled program of flow i of rule, an Expression
// flow, or nil (not an expression flow, or Validate not run since the
// rule changed). Programs are compiled with the parameters of the rule's
// connector (Connector.ParamNames).
func (c *Config) Program(rule *idsync.SyncRule, i int) *expr.Program {
	progs := c.programs[rule]
	if i < 0 || i >= len(progs) {
		return nil
	}
	return progs[i]
}

// SetRegistry sets the registry Validate checks connector types against
// (Load sets it).
func (c *Config) SetRegistry(reg *connector.Registry) { c.reg = reg }

// Connector is one configured connector instance.
type Connector struct {
	Name string
	Type string // a connector.Registry type name
	// Settings is the type's decoded, validated Config.
	Settings connector.Config
	// Capabilities after applying the type's defaults, the Config's own
	// (connector.Capabler) and the overrides in the file.
	Capabilities connector.Capabilities
	// ObjectTypes restricts import to these object types (empty: all).
	ObjectTypes []string
	// Attributes is the attribute inclusion list (empty: all).
	Attributes []string
	// Partitions in scope (empty: the default partition "").
	Partitions []string
	// Deprovision is what deprovisioning does in this connector (§4.2):
	// "delete" (default) or "disconnect".
	Deprovision string
	// DeletionThreshold stops an export that would delete more objects
	// (default 500); 0 after loading means the default, a negative value none.
	DeletionThreshold int
	// PageSize of import and export pages (default 1000).
	PageSize int
	// Params are rule parameters (Domain.FQDN, Connector.ID, ...) and
	// custom values usable as %Name% in expressions and scoping values.
	Params map[string]string
	// Matching, when set, takes over existing objects when provisioning
	// into this connector (§12 hard and soft match).
	Matching *Matching
	// Profiles by name.
	Profiles map[string]*idsync.RunProfile
	// ProfileOrder lists profile names in declaration order.
	ProfileOrder []string
	// Source locates the declaration ("connectors/hr.yaml:1").
	Source string
}

// Cycle configures `idsync cycle`.
type Cycle struct {
	// Interval between scheduled cycles (default 30 minutes).
	Interval time.Duration
	// ImportProfile, SyncProfile and ExportProfile name the profiles the
	// cycle runs per connector (defaults "delta-import" falling back to
	// "full-import", "delta-sync", "export"); see the package doc.
	ImportProfile, SyncProfile, ExportProfile string
}

// Connector returns the connector named name, or nil.
func (c *Config) Connector(name string) *Connector {
	for _, x := range c.Connectors {
		if x.Name == name {
			return x
		}
	}
	return nil
}
