package csv

// SetFault installs a hook called at each stage of a file rewrite
// ("write", "sync", "rename"); a non-nil error fails the rewrite there.
// Tests only: the hook cannot be set from YAML.
func SetFault(c *Config, f func(stage string) error) { c.fault = f }

// SetCheckpoint makes a session write its changes to the file every n
// changed rows. Tests only.
func SetCheckpoint(c *Config, n int) { c.checkpoint = n }
