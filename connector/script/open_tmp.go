package script

import (
	"context"
	"errors"

	"github.com/idsync/idsync/connector"
)

func open(ctx context.Context, c *Config, env connector.Env) (connector.Connector, error) {
	return nil, errors.New("script: work in progress")
}

func parseSchemaDoc(b []byte) (any, error) { return nil, nil }
