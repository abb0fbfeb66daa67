-- CreateTable
CREATE TABLE "StatusList" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "sequence" INTEGER NOT NULL,
    "size" INTEGER NOT NULL DEFAULT 131072,
    "bits" BLOB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "allocated" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "StatusEntry" (
    "listId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "credentialId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("listId", "index"),
    CONSTRAINT "StatusEntry_listId_fkey" FOREIGN KEY ("listId") REFERENCES "StatusList" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "StatusList_tenantId_purpose_sequence_key" ON "StatusList"("tenantId", "purpose", "sequence");

-- CreateIndex
CREATE INDEX "StatusEntry_credentialId_idx" ON "StatusEntry"("credentialId");

-- CreateIndex
CREATE UNIQUE INDEX "StatusEntry_listId_credentialId_key" ON "StatusEntry"("listId", "credentialId");
