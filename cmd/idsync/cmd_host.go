package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/host"
)

func (a *app) hostCmd() *cobra.Command {
	var (
		hostFile string
		listen   string
	)
	cmd := &cobra.Command{
		Use:   "host",
		Short: "Serve configured connectors as a SCIM 2.0 endpoint (the connector host)",
		Long: `Serve one or more configured connectors to a cloud provisioning service as a
SCIM 2.0 endpoint (Users and Groups), like Microsoft's ECMA Connector Host.

Reads are answered from the connector space, refreshed by a delta import (a full
import for connectors without one) at start and every 'refresh' interval; writes
go through the connector's export at once and are staged in the connector space.
The host holds each served connector's run lock while it runs.

The host configuration (listen address, TLS, bearer token, and per connector the
mapping of SCIM attributes to connector attributes) is a YAML file of its own,
outside the configuration directory. See docs/scim.md.`,
		Example: `  IDSYNC_HOST_TOKEN=$(openssl rand -hex 32) idsync host --config conf --host-config host.yaml
  idsync host --config conf --host-config host.yaml --listen 127.0.0.1:9443`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			if hostFile == "" {
				return usagef("--host-config is required (the host's YAML file; see docs/scim.md)")
			}
			hc, err := host.LoadConfig(hostFile)
			if err != nil {
				return usagef("%v", err)
			}
			if listen != "" {
				hc.Listen = listen
			}
			cfg, st, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, ep := range hc.Endpoints {
				if err := checkConnector(cfg, ep.Connector); err != nil {
					return err
				}
			}
			e, err := a.newEngine(ctx, cfg, st, nil)
			if err != nil {
				return err
			}
			srv, err := host.New(ctx, host.Options{Config: hc, Engine: e, Store: st, Secret: config.EnvSecrets, Logger: a.log()})
			if err != nil {
				return err
			}
			defer srv.Close(ctx)
			l, err := net.Listen("tcp", hc.Listen)
			if err != nil {
				return fmt.Errorf("host: listen: %w", err)
			}
			scheme := "http"
			if hc.TLS != nil {
				scheme = "https"
			}
			for _, ep := range hc.Endpoints {
				fmt.Fprintf(a.stdout, "serving connector %s at %s://%s%s\n", ep.Connector, scheme, l.Addr(), ep.Path)
			}
			return srv.Serve(ctx, l)
		},
	}
	cmd.Flags().StringVar(&hostFile, "host-config", "", "the host's configuration file (YAML)")
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on, overriding the file's (host:port)")
	return cmd
}
