# Synchronization Rules Editor export (test data written for idsync, in the
# form the editor's Export button produces).

New-ADSyncRule  `
-Name 'Out to AAD - Device Join SOAInAD' `
-Identifier 'a25d7313-790e-4430-88a5-0c478910e637' `
-Description '' `
-Direction 'Outbound' `
-Precedence 160 `
-PrecedenceAfter '00000000-0000-0000-0000-000000000000' `
-PrecedenceBefore '00000000-0000-0000-0000-000000000000' `
-SourceObjectType 'device' `
-TargetObjectType 'device' `
-Connector 'b891884f-051e-4a83-95af-2544101c9083' `
-LinkType 'Provision' `
-SoftDeleteExpiryInterval 0 `
-ImmutableTag 'Microsoft.OuttoAADJoinSOAInAD.002' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('displayName') `
-Destination 'displayName' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('sourceAnchor') `
-Destination 'dn' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression '"CN={" & ConvertToUTF8Hex([sourceAnchor]) & "}"' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('deviceId') `
-Destination 'deviceId' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('accountEnabled') `
-Destination 'accountEnabled' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('deviceOSVersion') `
-Destination 'deviceOSVersion' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('deviceOSType') `
-Destination 'deviceOSType' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('registeredOwnerReference') `
-Destination 'registeredOwnerReference' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('deviceTrustType') `
-Destination 'deviceTrustType' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('objectSid') `
-Destination 'onPremiseSecurityIdentifier' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('userCertificate') `
-Destination 'userCertificate' `
-FlowType 'Direct' `
-ValueMergeType 'MergeCaseInsensitive' `
-OutVariable syncRule

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudCreated','false','EQUAL' `
-OutVariable condition0

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'userCertificate','','ISNOTNULL' `
-OutVariable condition1

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudFiltered','true','NOTEQUAL' `
-OutVariable condition2

Add-ADSyncScopeConditionGroup  `
-SynchronizationRule $syncRule[0] `
-ScopeConditions @($condition0[0],$condition1[0],$condition2[0]) `
-OutVariable syncRule

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
-ArgumentList 'deviceId','deviceId',$false `
-OutVariable condition0

Add-ADSyncJoinConditionGroup  `
-SynchronizationRule $syncRule[0] `
-JoinConditions @($condition0[0]) `
-OutVariable syncRule

Add-ADSyncRule  `
-SynchronizationRule $syncRule[0]

Get-ADSyncRule  `
-Identifier 'a25d7313-790e-4430-88a5-0c478910e637'

