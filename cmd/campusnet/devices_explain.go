package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/campusnet/campusnet/internal/device"
)

// devicesExplainCommand is `campusnet devices explain`: how the portal
// would classify a device, and why — for the operator on the phone with a
// student whose phone was counted as a second PC.
func devicesExplainCommand() command {
	var ua, mac, platform, screen, chMobile, chPlatform, uadm string
	var touch int
	return command{
		name:  "devices explain",
		args:  "--ua UA [--mac MAC] [--platform P] [--touch N] [--screen WxH] [--ch-platform P] [--ch-mobile ?0|?1] [--uadata-mobile B]",
		short: "print the device class (pc/mobile) the portal gives these signals, the signals that decided it and those that lost",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&ua, "ua", "", "the browser's User-Agent")
			fs.StringVar(&mac, "mac", "", "the device's MAC address")
			fs.StringVar(&platform, "platform", "", "navigator.platform as the login page saw it (iPhone, Win32, Linux armv8l…)")
			fs.IntVar(&touch, "touch", -1, "navigator.maxTouchPoints (-1: unknown)")
			fs.StringVar(&screen, "screen", "", "screen size in CSS pixels, WxH (390x844)")
			fs.StringVar(&chMobile, "ch-mobile", "", "Sec-CH-UA-Mobile header (?1 or ?0)")
			fs.StringVar(&chPlatform, "ch-platform", "", "Sec-CH-UA-Platform header (Android, Windows…)")
			fs.StringVar(&uadm, "uadata-mobile", "", "navigator.userAgentData.mobile (true or false)")
		},
		run: func(_ context.Context, env *cli, args []string) error {
			if len(args) > 0 {
				if ua != "" {
					return fmt.Errorf("%w: unexpected argument %q (quote the User-Agent)", errUsage, args[0])
				}
				ua = strings.Join(args, " ")
			}
			if ua == "" && platform == "" && mac == "" && screen == "" && chMobile == "" && chPlatform == "" && uadm == "" {
				return fmt.Errorf("%w: give at least --ua", errUsage)
			}
			s := device.Signals{UserAgent: ua, MAC: mac, Platform: platform, MaxTouchPoints: touch,
				CHUAMobile: chMobile, CHUAPlatform: chPlatform, UADataMobile: uadm}
			if screen != "" {
				w, h, ok := strings.Cut(strings.ToLower(screen), "x")
				var err1, err2 error
				s.ScreenW, err1 = strconv.Atoi(strings.TrimSpace(w))
				s.ScreenH, err2 = strconv.Atoi(strings.TrimSpace(h))
				if !ok || err1 != nil || err2 != nil || s.ScreenW <= 0 || s.ScreenH <= 0 {
					return fmt.Errorf("%w: --screen wants WxH, e.g. 390x844", errUsage)
				}
			}
			fmt.Fprint(env.stdout, device.Classify(s).Explain())
			return nil
		},
	}
}
