package bas

import "fmt"

// The load-test population that `bassim load` logs in and `campusnet users
// seed-load` creates: user i (from 1) is PREFIXNNNNN with a bound PC whose
// MAC is 02:4c:00 followed by i.

// LoadUser is the user name of load-test user i.
func LoadUser(prefix string, i int) string { return fmt.Sprintf("%s%05d", prefix, i) }

// LoadMAC is the MAC of load-test user i's bound PC.
func LoadMAC(i int) string {
	return fmt.Sprintf("02:4c:00:%02x:%02x:%02x", (i>>16)&0xff, (i>>8)&0xff, i&0xff)
}
