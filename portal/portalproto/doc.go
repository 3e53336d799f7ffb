// Package portalproto speaks the Huawei/CMCC "Portal protocol" (versions 1
// and 2) between a captive portal server and a BAS, BRAS or wireless AC.
//
// It has four parts:
//
//   - a codec: [Packet], [Unmarshal], [Packet.Marshal] and [Packet.Verify],
//     with the v2 MD5 authenticator (docs/protocols.md#portal-authenticator);
//   - a [Client] for the portal side, which logs users in and out through
//     one BAS (REQ_CHALLENGE → ACK_CHALLENGE → REQ_AUTH → ACK_AUTH →
//     AFF_ACK_AUTH) and queries traffic counters;
//   - a [NotifyServer] for the portal side, which receives NTF_LOGOUT from
//     BASes, always acknowledges it and reports each forced logout once;
//   - a [BASServer] for the BAS side, used by the BAS simulator in tests and
//     demos, with [BASServer.SendNotifyLogout] to push forced logouts.
//
// Everything runs over UDP. The package stores nothing and never logs
// passwords, tokens or shared secrets.
package portalproto
