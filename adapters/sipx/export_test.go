package sipx

import (
	"context"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
)

// SendManage and SendRaw expose the request paths to the guard test.
func SendManage(c *Conn, ctx context.Context, m api.Manage) error { return c.manage(ctx, m) }

func SendRaw(c *Conn, ctx context.Context, svc, op string, in any) error {
	return c.call(ctx, svc, op, in, nil, true)
}
