package radius

import (
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/campusnet/campusnet/internal/access"
)

// profileAttributes are the attributes that put a session of area on bas
// in profile p (docs/plans.md, Enforcement), as an Access-Accept and a
// CoA-Request carry them:
//
//   - full: the area's rate (the vendor's rate attributes; none when the
//     area has no rate or the BAS no vendor), no Filter-Id;
//   - slow: the slow rate of the plan named planName (the area's default
//     plan for ""), and slow_filter_id as Filter-Id (RFC 2865 §5.11) when
//     the BAS has one;
//   - restricted: Filter-Id = garden_filter_id, the BAS's user group
//     (Huawei) or user profile (H3C) of the walled garden, with the area's
//     rate.
//
// ok is false when the BAS cannot apply p: restricted without a
// garden_filter_id.
func profileAttributes(bas access.BAS, area access.Area, planName string, p access.Profile) (attrs radius.Attributes, ok bool) {
	out := &radius.Packet{}
	switch p {
	case access.ProfileSlow:
		plan, found := area.PlanByName(planName)
		if !found {
			plan = area.DefaultPlan()
		}
		addRateLimit(out, bas.Vendor, plan.SlowUpKbps, plan.SlowDownKbps)
		if bas.SlowFilterID != "" {
			_ = rfc2865.FilterID_AddString(out, bas.SlowFilterID)
		}
	case access.ProfileRestricted:
		if bas.GardenFilterID == "" {
			return nil, false
		}
		addRateLimit(out, bas.Vendor, area.RateUpKbps, area.RateDownKbps)
		_ = rfc2865.FilterID_AddString(out, bas.GardenFilterID)
	default:
		addRateLimit(out, bas.Vendor, area.RateUpKbps, area.RateDownKbps)
	}
	return out.Attributes, true
}
