package access

// Notification events: what the outbound webhook ([notify]) tells a campus
// about a student (docs/plans.md, Notifications). Each is recorded once per
// occurrence, under a key unique to it (NotificationKey).
const (
	EventAllowance80     = "allowance_80"     // a cycle's counted traffic reached 80 % of its allowance and packs
	EventAllowance100    = "allowance_100"    // and 100 %: what the plan does past it now applies
	EventLowBalance      = "low_balance"      // the balance will not cover the next cycle (before settlement)
	EventArrears         = "arrears"          // a cycle ended without the balance for the next one, or a login went to the garden
	EventDeviceKicked    = "device_kicked"    // a session was ended by an operator, the student or a device limit
	EventDeviceUnbound   = "device_unbound"   // a MAC was unbound
	EventPasswordChanged = "password_changed" // the account's password was changed
)

// Notification is one recorded event.
type Notification struct {
	ID          int64  `db:"id"`
	Event       string `db:"event"`
	Key         string `db:"dedup_key"`
	AccountID   int64  `db:"account_id"`
	Payload     string `db:"payload"` // the JSON body sent
	CreatedAt   int64  `db:"created_at"`
	NextAt      int64  `db:"next_at"`
	Attempts    int    `db:"attempts"`
	Status      string `db:"status"` // "pending", "delivered" or "failed"
	DeliveredAt int64  `db:"delivered_at"`
	LastError   string `db:"last_error"`
}
