// Package device decides whether a device that logs in through the portal
// is a computer ("pc") or a phone/tablet ("mobile").
//
// Accounts are limited per class, and the campus's recurring complaint is a
// phone counted as a second PC because its browser is in "desktop mode"
// (电脑模式/桌面版网站) and sends a desktop User-Agent. So the rules here do
// not trust the User-Agent alone: they rank the signals a login can carry —
// an operator's override, User-Agent Client Hints, what the login page's
// script reports (navigator.platform, maxTouchPoints, screen size), the
// User-Agent string, and a randomised MAC — and take the strongest one that
// says something. Every Decision records which signals decided it and which
// were overruled, in words an operator can read back to a student.
//
// The rules are hand-written and deliberately few; no User-Agent database is
// used, so each outcome can be explained. OS connectivity probes
// (generate_204, hotspot-detect.html, connecttest.txt) are recognised by
// IsProbe so the portal never classifies a device from one: Android's probe,
// for example, sends a fixed desktop-Linux User-Agent from every phone.
package device
