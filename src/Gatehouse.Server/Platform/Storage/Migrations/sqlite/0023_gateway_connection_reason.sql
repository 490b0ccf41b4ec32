-- Why a gateway connection ended (docs/gateways.md): `reported` when the gateway's agent called
-- disconnect, `gateway_offline` when the gateway-offline job closed it because its gateway missed 3
-- heartbeats. NULL while the connection is open.
ALTER TABLE gateway_connections ADD COLUMN disconnect_reason TEXT NULL;
