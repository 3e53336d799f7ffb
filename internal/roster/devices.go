package roster

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
)

// DeviceStore is what the device import reads and writes (*store.Store).
type DeviceStore interface {
	AccountByUsername(ctx context.Context, username string) (access.Account, error)
	BoundDeviceByMAC(ctx context.Context, mac string) (access.Device, error)
	BindDevice(ctx context.Context, accountID int64, mac string, class access.Class, actor, reason string, maxBound int) (access.Device, error)
}

// DeviceReport is what a device import did (or, dry, would do).
type DeviceReport struct {
	Bound int
	Bad   []BadRow
}

// MaxDeviceRows bounds one device file.
const MaxDeviceRows = 200000

// ErrTooManyRows: a device file of more than MaxDeviceRows rows.
var ErrTooManyRows = fmt.Errorf("more than %d rows: split the file", MaxDeviceRows)

// ImportDevices binds each good row (account, mac, class) in its own
// transaction, audited with actor and reason, and reports each bad row with
// its line and reason; a bad row stores nothing. Empty lines, lines starting
// with # and a header row (first field "account") are skipped. With dryRun
// nothing is stored: a MAC bound to another account (in the store or on an
// earlier row) is reported as the bind would report it. The error is a read
// or store failure, or a file of more than MaxDeviceRows rows; the report
// then holds what was done before it.
func ImportDevices(ctx context.Context, st DeviceStore, r io.Reader, actor, reason string, dryRun bool) (DeviceReport, error) {
	var rep DeviceReport
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	accounts := map[string]int64{}
	planned := map[string]int64{} // dry run: MAC → account of an earlier row
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		bad := func(id string, a ...any) {
			rep.Bad = append(rep.Bad, badRow(line, problem(id, a...)))
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad("roster.bad.device_csv", pe.Err.Error())
				continue
			}
			return rep, err
		}
		if line > MaxDeviceRows {
			return rep, ErrTooManyRows
		}
		if len(rec) == 0 || (len(rec) == 1 && strings.TrimSpace(rec[0]) == "") || strings.HasPrefix(strings.TrimSpace(rec[0]), "#") {
			continue
		}
		if line == 1 && strings.EqualFold(strings.TrimSpace(rec[0]), "account") {
			continue // header
		}
		if len(rec) != 3 {
			bad("roster.bad.device_columns", len(rec))
			continue
		}
		user, rawMAC, class := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]), access.Class(strings.ToLower(strings.TrimSpace(rec[2])))
		mac, err := access.NormalizeMAC(rawMAC)
		if err != nil {
			bad("roster.bad.mac", clip(rawMAC))
			continue
		}
		if class != access.ClassPC && class != access.ClassMobile {
			bad("roster.bad.class", clip(string(class)))
			continue
		}
		id, ok := accounts[user]
		if !ok {
			acc, err := st.AccountByUsername(ctx, user)
			if errors.Is(err, access.ErrNotFound) {
				bad("roster.bad.no_account", clip(user))
				continue
			}
			if err != nil {
				return rep, err
			}
			id = acc.ID
			accounts[user] = id
		}
		if dryRun {
			if err := checkBind(ctx, st, planned, id, mac); err != nil {
				if errors.Is(err, access.ErrConflict) {
					bad("roster.bad.bind", mac, err.Error())
					continue
				}
				return rep, err
			}
			planned[mac] = id
			rep.Bound++
			continue
		}
		if _, err := st.BindDevice(ctx, id, mac, class, actor, reason, 0); err != nil {
			if errors.Is(err, access.ErrConflict) || errors.Is(err, access.ErrInvalid) {
				bad("roster.bad.bind", mac, err.Error())
				continue
			}
			return rep, err
		}
		rep.Bound++
	}
	return rep, nil
}

// checkBind is BindDevice's conflict check without the write: mac bound to
// another account, in the store or by an earlier row of the file.
func checkBind(ctx context.Context, st DeviceStore, planned map[string]int64, accountID int64, mac string) error {
	if other, ok := planned[mac]; ok && other != accountID {
		return fmt.Errorf("store: bind %s: bound to another account (#%d): %w", mac, other, access.ErrConflict)
	}
	d, err := st.BoundDeviceByMAC(ctx, mac)
	switch {
	case errors.Is(err, access.ErrNotFound):
		return nil
	case err != nil:
		return err
	case d.AccountID != accountID:
		return fmt.Errorf("store: bind %s: bound to another account (#%d): %w", mac, d.AccountID, access.ErrConflict)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
