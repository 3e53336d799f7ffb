package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// nodesCommand is `campusnet nodes`: the portal nodes and their health, so
// that "the page said 网络信息中心-3" leads to node 3.
func nodesCommand() command {
	var stale time.Duration
	return command{
		name:  "nodes",
		short: "list the portal nodes (网络信息中心-X): address, version, last heartbeat, recent logins and BAS errors; marks stopped and stale ones",
		flags: func(fs *flag.FlagSet) {
			fs.DurationVar(&stale, "stale", time.Minute, "a node whose last heartbeat is older than this is STALE")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
			}
			_, st, err := env.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			nodes, err := st.PortalNodes(ctx)
			if err != nil {
				return err
			}
			if len(nodes) == 0 {
				fmt.Fprintln(env.stdout, "no portal node has sent a heartbeat yet")
				return nil
			}
			writeNodes(env, nodes, st.Now(), stale)
			return nil
		},
	}
}

func writeNodes(env *cli, nodes []access.PortalNode, now time.Time, stale time.Duration) {
	tw := tabwriter.NewWriter(env.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tADDRESS\tVERSION\tSTARTED\tLAST HEARTBEAT\tLOGINS OK\tFAILED\tBAS ERRORS (last 5 min)")
	for _, n := range nodes {
		beat := access.FromMillis(n.HeartbeatAt)
		state := "ok"
		switch {
		case n.StoppedAt != 0: // stopped cleanly: not stale, and not alive
			state = "stopped"
		case now.Sub(beat) > stale:
			state = "STALE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s (%s ago)\t%d\t%d\t%d\n", n.NodeID, state, n.Address, n.Version,
			when(env.zone(), n.StartedAt), beat.In(env.zone()).Format("15:04:05 -07:00"),
			now.Sub(beat).Round(time.Second), n.LoginsOK, n.LoginsFailed, n.BASErrors)
	}
	tw.Flush()
}
