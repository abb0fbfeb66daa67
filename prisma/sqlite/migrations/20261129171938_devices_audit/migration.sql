-- AlterTable
ALTER TABLE "Passkey" ADD COLUMN "deviceId" TEXT;

-- AlterTable
ALTER TABLE "RiskDevice" ADD COLUMN "delegateAddress" TEXT;
ALTER TABLE "RiskDevice" ADD COLUMN "revokedAt" DATETIME;

-- AlterTable
ALTER TABLE "SecurityEvent" ADD COLUMN "actor" TEXT;
ALTER TABLE "SecurityEvent" ADD COLUMN "hash" TEXT;
ALTER TABLE "SecurityEvent" ADD COLUMN "prevHash" TEXT;
ALTER TABLE "SecurityEvent" ADD COLUMN "seq" INTEGER;

-- AlterTable
ALTER TABLE "Session" ADD COLUMN "deviceId" TEXT;

-- CreateTable
CREATE TABLE "AuditHead" (
    "tenantId" TEXT NOT NULL PRIMARY KEY,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "hash" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "AuditAnchor" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "head" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "chainJobId" TEXT,
    "txHash" TEXT,
    "blockNumber" BIGINT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "anchoredAt" DATETIME
);

-- CreateTable
CREATE TABLE "DeviceRevocation" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "requestedBy" TEXT NOT NULL,
    "reason" TEXT,
    "status" TEXT NOT NULL DEFAULT 'running',
    "steps" TEXT NOT NULL DEFAULT '{}',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "completedAt" DATETIME
);

-- CreateTable
CREATE TABLE "SsfStream" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "clientId" TEXT,
    "endpointUrl" TEXT NOT NULL,
    "events" TEXT NOT NULL DEFAULT '[]',
    "masterKeyId" TEXT,
    "authEnvelope" BLOB,
    "status" TEXT NOT NULL DEFAULT 'enabled',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "SsfDelivery" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "streamId" TEXT NOT NULL,
    "jti" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastError" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" DATETIME
);

-- CreateIndex
CREATE INDEX "AuditAnchor_tenantId_status_idx" ON "AuditAnchor"("tenantId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "AuditAnchor_tenantId_seq_key" ON "AuditAnchor"("tenantId", "seq");

-- CreateIndex
CREATE INDEX "DeviceRevocation_deviceId_idx" ON "DeviceRevocation"("deviceId");

-- CreateIndex
CREATE INDEX "DeviceRevocation_tenantId_createdAt_idx" ON "DeviceRevocation"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "DeviceRevocation_status_idx" ON "DeviceRevocation"("status");

-- CreateIndex
CREATE INDEX "SsfStream_tenantId_idx" ON "SsfStream"("tenantId");

-- CreateIndex
CREATE UNIQUE INDEX "SsfDelivery_jti_key" ON "SsfDelivery"("jti");

-- CreateIndex
CREATE INDEX "SsfDelivery_status_nextAttemptAt_idx" ON "SsfDelivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "SsfDelivery_streamId_idx" ON "SsfDelivery"("streamId");

-- CreateIndex
CREATE INDEX "Passkey_deviceId_idx" ON "Passkey"("deviceId");

-- CreateIndex
CREATE UNIQUE INDEX "SecurityEvent_tenantId_seq_key" ON "SecurityEvent"("tenantId", "seq");

-- CreateIndex
CREATE INDEX "Session_deviceId_idx" ON "Session"("deviceId");
