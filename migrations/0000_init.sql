CREATE TABLE `alerts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`type` text NOT NULL,
	`severity` text NOT NULL,
	`title` text NOT NULL,
	`message` text NOT NULL,
	`data` text,
	`count` integer DEFAULT 1 NOT NULL,
	`delivery` text DEFAULT 'none' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alerts_ts` ON `alerts` (`ts`);--> statement-breakpoint
CREATE TABLE `commands` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`transport` text NOT NULL,
	`user_id` text NOT NULL,
	`user_name` text,
	`role` text,
	`command` text NOT NULL,
	`args` text,
	`outcome` text NOT NULL,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `commands_ts` ON `commands` (`ts`);--> statement-breakpoint
CREATE TABLE `data_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`symbol` text NOT NULL,
	`timeframe` text NOT NULL,
	`candle_ts` integer,
	`kind` text NOT NULL,
	`severity` text NOT NULL,
	`detail` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `data_events_ts` ON `data_events` (`ts`);--> statement-breakpoint
CREATE TABLE `decisions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`symbol` text NOT NULL,
	`strategy` text NOT NULL,
	`action` text NOT NULL,
	`price` real NOT NULL,
	`reason` text NOT NULL,
	`confidence` real,
	`features` text,
	`requested_qty` real,
	`verdict` text NOT NULL,
	`verdict_rule` text NOT NULL,
	`verdict_reason` text NOT NULL,
	`final_qty` real,
	`client_order_id` text,
	`approval` text DEFAULT 'none' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `decisions_ts` ON `decisions` (`ts`);--> statement-breakpoint
CREATE TABLE `equity_snapshots` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`equity` real NOT NULL,
	`cash` real NOT NULL,
	`unrealized_pnl` real NOT NULL,
	`exposure` real NOT NULL
);
--> statement-breakpoint
CREATE INDEX `equity_ts` ON `equity_snapshots` (`ts`);--> statement-breakpoint
CREATE TABLE `fills` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`venue` text NOT NULL,
	`trade_id` text NOT NULL,
	`client_order_id` text NOT NULL,
	`exchange_order_id` text,
	`symbol` text NOT NULL,
	`side` text NOT NULL,
	`price` real NOT NULL,
	`qty` real NOT NULL,
	`fee` real NOT NULL,
	`fee_currency` text NOT NULL,
	`liquidity` text NOT NULL,
	`ts` integer NOT NULL,
	`realized_pnl` real DEFAULT 0 NOT NULL,
	`cash_delta` real DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `fills_venue_trade` ON `fills` (`venue`,`trade_id`);--> statement-breakpoint
CREATE INDEX `fills_ts` ON `fills` (`ts`);--> statement-breakpoint
CREATE TABLE `funding_payments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`venue` text NOT NULL,
	`payment_id` text NOT NULL,
	`symbol` text NOT NULL,
	`amount` real NOT NULL,
	`rate` real,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `funding_venue_payment` ON `funding_payments` (`venue`,`payment_id`);--> statement-breakpoint
CREATE TABLE `order_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`client_order_id` text NOT NULL,
	`ts` integer NOT NULL,
	`from_status` text,
	`to_status` text NOT NULL,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `order_events_coid` ON `order_events` (`client_order_id`);--> statement-breakpoint
CREATE TABLE `orders` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`client_order_id` text NOT NULL,
	`exchange_order_id` text,
	`venue` text NOT NULL,
	`symbol` text NOT NULL,
	`side` text NOT NULL,
	`type` text NOT NULL,
	`tif` text NOT NULL,
	`qty` real,
	`quote_qty` real,
	`price` real,
	`stop_price` real,
	`reduce_only` integer NOT NULL,
	`leverage` real,
	`stop_loss` real,
	`take_profit` real,
	`status` text NOT NULL,
	`filled_qty` real DEFAULT 0 NOT NULL,
	`avg_price` real DEFAULT 0 NOT NULL,
	`fee` real DEFAULT 0 NOT NULL,
	`reason` text,
	`purpose` text,
	`decision_id` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `orders_client_order_id` ON `orders` (`client_order_id`);--> statement-breakpoint
CREATE INDEX `orders_status` ON `orders` (`status`);--> statement-breakpoint
CREATE TABLE `paper_balances` (
	`asset` text PRIMARY KEY NOT NULL,
	`free` real NOT NULL,
	`locked` real NOT NULL
);
--> statement-breakpoint
CREATE TABLE `paper_fills` (
	`trade_id` text PRIMARY KEY NOT NULL,
	`client_order_id` text NOT NULL,
	`symbol` text NOT NULL,
	`ts` integer NOT NULL,
	`fill` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `paper_fills_ts` ON `paper_fills` (`symbol`,`ts`);--> statement-breakpoint
CREATE TABLE `paper_orders` (
	`client_order_id` text PRIMARY KEY NOT NULL,
	`exchange_order_id` text NOT NULL,
	`symbol` text NOT NULL,
	`status` text NOT NULL,
	`order` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `paper_orders_status` ON `paper_orders` (`status`);--> statement-breakpoint
CREATE TABLE `paper_positions` (
	`symbol` text PRIMARY KEY NOT NULL,
	`position` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `positions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`symbol` text NOT NULL,
	`side` text NOT NULL,
	`status` text NOT NULL,
	`qty` real NOT NULL,
	`max_qty` real NOT NULL,
	`entry_price` real NOT NULL,
	`exit_price` real,
	`leverage` real DEFAULT 1 NOT NULL,
	`margin` real DEFAULT 0 NOT NULL,
	`liquidation_price` real,
	`stop_loss` real,
	`take_profit` real,
	`realized_pnl` real DEFAULT 0 NOT NULL,
	`fees` real DEFAULT 0 NOT NULL,
	`opened_at` integer NOT NULL,
	`closed_at` integer,
	`strategy` text
);
--> statement-breakpoint
CREATE INDEX `positions_status` ON `positions` (`status`);--> statement-breakpoint
CREATE INDEX `positions_closed_at` ON `positions` (`closed_at`);--> statement-breakpoint
CREATE TABLE `proposals` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`nonce` text NOT NULL,
	`decision_id` integer NOT NULL,
	`symbol` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`decided_by` text,
	`decided_at` integer,
	`detail` text,
	`messages` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `proposals_status` ON `proposals` (`status`);--> statement-breakpoint
CREATE TABLE `reconciliations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`trigger` text NOT NULL,
	`status` text NOT NULL,
	`summary` text NOT NULL,
	`details` text
);
--> statement-breakpoint
CREATE TABLE `runtime_state` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
