-- AlterTable
ALTER TABLE "Passkey" ADD COLUMN     "deviceId" TEXT;

-- AlterTable
ALTER TABLE "RiskDevice" ADD COLUMN     "delegateAddress" TEXT,
ADD COLUMN     "revokedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "SecurityEvent" ADD COLUMN     "actor" TEXT,
ADD COLUMN     "hash" TEXT,
ADD COLUMN     "prevHash" TEXT,
ADD COLUMN     "seq" INTEGER;

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "deviceId" TEXT;

-- CreateTable
CREATE TABLE "AuditHead" (
    "tenantId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "hash" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AuditHead_pkey" PRIMARY KEY ("tenantId")
);

-- CreateTable
CREATE TABLE "AuditAnchor" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "head" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "chainJobId" TEXT,
    "txHash" TEXT,
    "blockNumber" BIGINT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "anchoredAt" TIMESTAMP(3),

    CONSTRAINT "AuditAnchor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeviceRevocation" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "requestedBy" TEXT NOT NULL,
    "reason" TEXT,
    "status" TEXT NOT NULL DEFAULT 'running',
    "steps" TEXT NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "DeviceRevocation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SsfStream" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "clientId" TEXT,
    "endpointUrl" TEXT NOT NULL,
    "events" TEXT NOT NULL DEFAULT '[]',
    "masterKeyId" TEXT,
    "authEnvelope" BYTEA,
    "status" TEXT NOT NULL DEFAULT 'enabled',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SsfStream_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SsfDelivery" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "streamId" TEXT NOT NULL,
    "jti" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMP(3),

    CONSTRAINT "SsfDelivery_pkey" PRIMARY KEY ("id")
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
