package portal

import (
	"context"

	"github.com/campusnet/campusnet/internal/access"
)

// nextFee is the fee of the plan the account's next cycle in area runs
// under (docs/plans.md, Choosing a plan): the chosen plan's in an area with
// plans, else the area's. When the choice cannot be read it is the area's
// (the default plan's), and the error is logged.
func (p *Portal) nextFee(ctx context.Context, accountID int64, area access.Area) access.Fen {
	if len(area.Plans) == 0 {
		return area.Fee
	}
	plan, err := p.st.NextPlan(ctx, accountID, area)
	if err != nil {
		p.log.Warn("next plan", "account", accountID, "area", area.Name, "err", err)
		return area.Fee
	}
	return plan.Fee
}
